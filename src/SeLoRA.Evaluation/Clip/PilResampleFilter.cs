namespace SeLoRA.Evaluation.Clip;

/// <summary>PIL's resampling filters with PIL's integer codes (the "resample" field of preprocessor_config.json).</summary>
public enum PilResampleFilter
{
    Lanczos = 1,
    Bilinear = 2,
    Bicubic = 3,
    Box = 4,
    Hamming = 5,
}
