using System.Security.Cryptography;
using System.Text;

namespace SeLoRA.Data.Preprocessing;

/// <summary>
/// How an image becomes a training tensor (diffusers train_text_to_image's transforms): resize the shortest side to
/// <see cref="Resolution"/> (bilinear, antialias off), crop to Resolution x Resolution (centre, or random when
/// <see cref="CenterCrop"/> is false), optionally flip horizontally at random, map [0, 1] to [-1, 1], gray to 3 channels.
/// </summary>
/// <param name="Resolution">Output side in pixels (224 by default; SD1.5 training usually uses 512).</param>
/// <param name="CenterCrop">Centre crop (deterministic) or random crop (needs a generator).</param>
/// <param name="RandomFlip">Horizontal flip with probability 0.5 (needs a generator).</param>
public sealed record PreprocessSettings(int Resolution = 224, bool CenterCrop = true, bool RandomFlip = false)
{
    /// <summary>Bump when the pixel pipeline changes in a way the fields do not show, so old latent caches are not reused.</summary>
    public const int PipelineVersion = 1;

    public static PreprocessSettings Default { get; } = new();

    /// <summary>True when the same file always gives the same tensor (no random crop or flip), which a latent cache needs.</summary>
    public bool IsDeterministic => CenterCrop && !RandomFlip;

    /// <summary>Throws when a field is out of range.</summary>
    public PreprocessSettings Validate()
    {
        if (Resolution < 1 || Resolution > 16384)
            throw new ArgumentOutOfRangeException(nameof(Resolution), Resolution, "preprocessing resolution must be in [1, 16384]");
        return this;
    }

    /// <summary>
    /// A canonical description of every setting that changes the pixels (culture-invariant, fixed field order); part of
    /// the latent cache key.
    /// </summary>
    public string CanonicalString => FormattableString.Invariant(
        $"preprocess/v{PipelineVersion};resolution={Resolution};crop={(CenterCrop ? "center" : "random")};flip={(RandomFlip ? "random" : "none")};resize=shortest-side-bilinear-no-antialias;range=[-1,1];channels=3;u16=/65535;u8=/255");

    /// <summary>SHA-256 of <see cref="CanonicalString"/>, lower-case hex.</summary>
    public string Hash => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(CanonicalString)));
}
