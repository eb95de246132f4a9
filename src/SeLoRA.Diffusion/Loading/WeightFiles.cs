using SeLoRA.Torch.Safetensors;

namespace SeLoRA.Diffusion.Loading;

/// <summary>Finds the weight file of a component folder under the names diffusers and transformers use.</summary>
public static class WeightFiles
{
    /// <summary>diffusers' model weights name.</summary>
    public const string DiffusersWeightsName = "diffusion_pytorch_model";

    /// <summary>transformers' model weights name.</summary>
    public const string TransformersWeightsName = "model";

    static readonly string[] BaseNames = [DiffusersWeightsName, TransformersWeightsName];

    /// <summary>The file names looked for, in order, for a variant (null: the main weights).</summary>
    public static IReadOnlyList<string> CandidateNames(string? variant)
    {
        var v = string.IsNullOrEmpty(variant) ? "" : "." + variant;
        var names = new List<string>();
        foreach (var baseName in BaseNames)
        {
            names.Add($"{baseName}{v}.safetensors");
            // Upstream puts the variant before ".json" in index names; the other order is accepted too.
            names.Add($"{baseName}.safetensors.index{v}.json");
            if (v.Length > 0) names.Add($"{baseName}{v}.safetensors.index.json");
        }
        return names;
    }

    /// <summary>
    /// The weights of <paramref name="componentFolder"/> for <paramref name="variant"/> (e.g. "fp16"; null for the main
    /// weights). A variant is never silently replaced by the main weights or the other way round. Throws a
    /// <see cref="WeightFileException"/> listing the names tried and the files present when nothing matches.
    /// </summary>
    public static WeightSource Find(string componentFolder, string? variant = null)
    {
        if (!Directory.Exists(componentFolder))
            throw new WeightFileException($"Component folder not found: {componentFolder}");
        var candidates = CandidateNames(variant);
        foreach (var name in candidates)
        {
            var path = Path.Combine(componentFolder, name);
            if (File.Exists(path)) return new WeightSource(path, name.EndsWith(".json", StringComparison.Ordinal));
        }

        var present = Directory.EnumerateFiles(componentFolder).Select(Path.GetFileName).OfType<string>()
            .OrderBy(n => n, StringComparer.Ordinal).ToList();
        var what = string.IsNullOrEmpty(variant) ? "main (no variant)" : $"variant '{variant}'";
        var message = $"No {what} safetensors weights in {componentFolder}. Looked for: {string.Join(", ", candidates)}. " +
                      $"Files present: {(present.Count == 0 ? "(none)" : string.Join(", ", present))}.";
        if (present.Any(n => n.EndsWith(".bin", StringComparison.Ordinal) || n.EndsWith(".ckpt", StringComparison.Ordinal)))
            message += " Pickled PyTorch weights (.bin/.ckpt) are not read; convert them to safetensors.";
        var variants = present.Where(n => n.EndsWith(".safetensors", StringComparison.Ordinal))
            .Select(n => n.Split('.')).Where(p => p.Length == 3).Select(p => p[1]).Distinct().ToList();
        if (variants.Count > 0) message += $" Variants present: {string.Join(", ", variants)}.";
        throw new WeightFileException(message);
    }
}
