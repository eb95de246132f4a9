using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Schedulers;

/// <summary>Creates inference schedulers by name: "pndm" (what SD1.5 ships) or "ddim".</summary>
public static class InferenceSchedulers
{
    /// <summary>The names <see cref="Create(string, SchedulerConfig)"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["pndm", "ddim"];

    /// <summary>A scheduler by name (case-insensitive); DDIM is deterministic (eta 0).</summary>
    public static IInferenceScheduler Create(string name, SchedulerConfig config) => Create(name, config, 0.0, null);

    /// <summary>A scheduler by name; <paramref name="eta"/> and <paramref name="generator"/> apply to DDIM only.</summary>
    public static IInferenceScheduler Create(string name, SchedulerConfig config, double eta, Generator? generator)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(config);
        switch (name.Trim().ToLowerInvariant())
        {
            case "pndm":
                if (eta != 0) throw new ArgumentException("eta applies to the ddim scheduler only, not pndm", nameof(eta));
                return new PndmScheduler(config);
            case "ddim":
                return new DdimScheduler(config, eta, generator);
            default:
                throw new ArgumentException($"unknown inference scheduler \"{name}\"; known: {string.Join(", ", Names)}", nameof(name));
        }
    }
}
