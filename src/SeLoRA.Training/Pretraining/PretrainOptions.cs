using SeLoRA.Data.Pretraining;

namespace SeLoRA.Training.Pretraining;

/// <summary>The budget and hyperparameters of a from-scratch pretraining run of the tiny base model.</summary>
public sealed record PretrainOptions
{
    /// <summary>About 3-6 minutes on two CPU cores.</summary>
    public static PretrainOptions Default { get; } = new();

    /// <summary>Under a minute: for tests and smoke runs; the model it makes is barely trained.</summary>
    public static PretrainOptions Quick { get; } = new() { VaeSteps = 40, UnetSteps = 60, VaeBatchSize = 8, BatchSize = 16, ImageLimit = 1000, LogEvery = 20 };

    public long Seed { get; init; }
    public int VaeSteps { get; init; } = 300;
    public int UnetSteps { get; init; } = 1500;

    /// <summary>Images per VAE step: the VAE at 64x64 costs several times the U-Net at 8x8, so it gets smaller batches.</summary>
    public int VaeBatchSize { get; init; } = 16;

    /// <summary>Latents per U-Net step.</summary>
    public int BatchSize { get; init; } = 32;

    public double VaeLearningRate { get; init; } = 2e-3;
    public double UnetLearningRate { get; init; } = 1.5e-3;

    /// <summary>Weight of the KL term (summed over latent elements, averaged over the batch) against the per-pixel MSE.</summary>
    public double KlWeight { get; init; } = 1e-5;

    /// <summary>Fraction of captions replaced by the empty prompt, so classifier-free guidance has an unconditional branch.</summary>
    public double PromptDropout { get; init; } = 0.15;

    /// <summary>Training images read from the corpus (null: all 60,000).</summary>
    public int? ImageLimit { get; init; }

    /// <summary>The first this many images are encoded once and the U-Net trains on their latents.</summary>
    public int LatentPool { get; init; } = 4096;

    /// <summary>The folder of the gzip'd IDX files (null: Debian's /usr/share/datasets/fashion-mnist).</summary>
    public string? CorpusFolder { get; init; }

    /// <summary>A progress line every this many steps (and at the last step).</summary>
    public int LogEvery { get; init; } = 100;

    /// <summary>The command line recorded in PRETRAINED.md (null: none recorded).</summary>
    public string? Command { get; init; }

    public int ImageSize => 64;

    public void Validate()
    {
        if (VaeSteps < 1) throw new ArgumentException($"vae steps must be at least 1, not {VaeSteps}.");
        if (UnetSteps < 1) throw new ArgumentException($"unet steps must be at least 1, not {UnetSteps}.");
        if (BatchSize < 1 || VaeBatchSize < 1) throw new ArgumentException($"batch sizes must be at least 1, not {VaeBatchSize} / {BatchSize}.");
        if (VaeLearningRate <= 0 || UnetLearningRate <= 0) throw new ArgumentException("learning rates must be positive.");
        if (KlWeight < 0) throw new ArgumentException($"kl weight must not be negative, not {KlWeight}.");
        if (PromptDropout is < 0 or >= 1) throw new ArgumentException($"prompt dropout must be in [0, 1), not {PromptDropout}.");
        if (ImageLimit is < 1) throw new ArgumentException($"image limit must be at least 1, not {ImageLimit}.");
        if (LatentPool < 1) throw new ArgumentException($"latent pool must be at least 1, not {LatentPool}.");
        if (LogEvery < 1) throw new ArgumentException($"log every must be at least 1, not {LogEvery}.");
    }

    internal string CorpusFolderOrDefault => CorpusFolder ?? FashionMnist.DefaultFolder;
}
