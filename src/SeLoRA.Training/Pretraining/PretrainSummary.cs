namespace SeLoRA.Training.Pretraining;

/// <summary>What a pretraining run made: where, how long, how big, how well.</summary>
public sealed record PretrainSummary(
    string Folder,
    TimeSpan Elapsed,
    TimeSpan VaeElapsed,
    TimeSpan UnetElapsed,
    long VaeParameters,
    long UnetParameters,
    long TextEncoderParameters,
    double FinalVaeLoss,
    double FinalUnetLoss,
    double LatentStd,
    double ScalingFactor,
    int VocabularySize,
    int Images,
    long FolderBytes,
    string CorpusVersion);
