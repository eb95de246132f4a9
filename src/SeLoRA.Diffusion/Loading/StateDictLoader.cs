using SeLoRA.Torch.Safetensors;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Loading;

/// <summary>
/// Copies named tensors into a module's existing parameters and buffers (its <c>state_dict()</c> names), after the
/// key remappers, with PyTorch's <c>load_state_dict</c> rules: strict by default, shape mismatches always fatal.
/// </summary>
public static class StateDictLoader
{
    /// <summary>
    /// Loads <paramref name="tensors"/> into <paramref name="module"/>. Values are copied in place under no_grad, so
    /// requires_grad and object identity of the parameters stay as they were (except where the dtype policy converts a
    /// module, which TorchSharp does by replacing its tensors). The caller still owns <paramref name="tensors"/>.
    /// </summary>
    /// <param name="source">What the tensors came from (a file path), for error messages.</param>
    /// <exception cref="StateDictMismatchException">Keys or shapes do not match (missing/unexpected only when strict).</exception>
    public static LoadReport Load(nn.Module module, IDictionary<string, Tensor> tensors, LoadOptions? options = null, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(tensors);
        options ??= LoadOptions.Default;
        TorchRuntime.EnsureLoaded();

        var state = module.state_dict();
        var parameterNames = module.named_parameters().Select(p => p.name).ToHashSet(StringComparer.Ordinal);
        var expected = state.ToDictionary(kv => kv.Key, kv => new ModuleEntry(kv.Key, kv.Value.shape, parameterNames.Contains(kv.Key)),
            StringComparer.Ordinal);

        var ignored = new List<string>();
        var working = tensors;
        foreach (var remapper in options.KeyRemappers)
            working = remapper.Remap(working, expected, ignored);

        var originals = new HashSet<Tensor>(tensors.Values, ReferenceEqualityComparer.Instance);
        try
        {
            var missing = expected.Keys.Where(k => !working.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
            var unexpected = working.Keys.Where(k => !expected.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
            var mismatches = new List<string>();
            foreach (var key in working.Keys.Where(expected.ContainsKey).Order(StringComparer.Ordinal))
            {
                var stored = working[key];
                var target = state[key];
                if (!stored.shape.SequenceEqual(target.shape))
                    mismatches.Add($"'{key}': file {SafetensorsFile.FormatShape(stored.shape)} vs module {SafetensorsFile.FormatShape(target.shape)}");
                else if (SafetensorsDType.IsFloating(stored.dtype) != SafetensorsDType.IsFloating(target.dtype))
                    mismatches.Add($"'{key}': file dtype {stored.dtype} vs module dtype {target.dtype}");
            }

            var loaded = working.Keys.Where(expected.ContainsKey).Order(StringComparer.Ordinal).ToList();
            var notConverted = new List<string>();
            var report = new LoadReport(loaded, missing, unexpected, mismatches, ignored.Order(StringComparer.Ordinal).ToList(), notConverted);
            if (mismatches.Count > 0 || (options.Strict && (missing.Count > 0 || unexpected.Count > 0)))
                throw new StateDictMismatchException(Describe(module, source, report, options.Strict), report);

            if (ApplyFloatPolicy(module, state, expected, working, options, notConverted))
                state = module.state_dict();

            using (torch.no_grad())
            {
                foreach (var key in loaded)
                    state[key].copy_(working[key]);
            }
            return report;
        }
        finally
        {
            foreach (var t in working.Values)
                if (!originals.Contains(t)) t.Dispose();
        }
    }

    /// <summary>Converts module tensors whose dtype differs from what the policy wants; true when anything was converted.</summary>
    static bool ApplyFloatPolicy(nn.Module module, Dictionary<string, Tensor> state, Dictionary<string, ModuleEntry> expected,
        IDictionary<string, Tensor> working, LoadOptions options, List<string> notConverted)
    {
        if (options.FloatStorage == FloatStorage.KeepModule) return false;
        var desired = new Dictionary<string, ScalarType>(StringComparer.Ordinal);
        foreach (var (key, tensor) in state)
        {
            if (!SafetensorsDType.IsFloating(tensor.dtype)) continue;
            desired[key] = options.FloatStorage switch
            {
                FloatStorage.KeepStored => working.TryGetValue(key, out var stored) ? stored.dtype : tensor.dtype,
                FloatStorage.FrozenBFloat16 => expected[key].IsParameter && !tensor.requires_grad ? ScalarType.BFloat16 : options.FloatDType,
                _ => options.FloatDType,
            };
        }
        if (desired.All(kv => state[kv.Key].dtype == kv.Value)) return false;

        var targets = desired.Values.Distinct().ToList();
        if (targets.Count == 1)
        {
            // One dtype for everything: TorchSharp's module conversion handles fields and leaves integer buffers alone.
            module.to(targets[0]);
            return true;
        }

        var modules = module.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
        modules[""] = module;
        foreach (var group in desired.GroupBy(kv => OwnerOf(kv.Key)))
        {
            if (group.All(kv => state[kv.Key].dtype == kv.Value)) continue;
            var owner = modules[group.Key];
            var wanted = group.Select(kv => kv.Value).Distinct().ToList();
            // Converting a module converts its children too, so only leaves with one wanted dtype can be converted alone.
            if (wanted.Count == 1 && !owner.named_children().Any())
                owner.to(wanted[0]);
            else
                notConverted.AddRange(group.Where(kv => state[kv.Key].dtype != kv.Value).Select(kv => kv.Key));
        }
        notConverted.Sort(StringComparer.Ordinal);
        return true;
    }

    static string OwnerOf(string key)
    {
        var dot = key.LastIndexOf('.');
        return dot < 0 ? "" : key[..dot];
    }

    static string Describe(nn.Module module, string? source, LoadReport report, bool strict)
    {
        var parts = new List<string>();
        if (report.Missing.Count > 0 && strict)
            parts.Add($"{report.Missing.Count} missing key(s) (in the module, not in the file): {string.Join(", ", report.Missing)}");
        if (report.Unexpected.Count > 0 && strict)
            parts.Add($"{report.Unexpected.Count} unexpected key(s) (in the file, not in the module): {string.Join(", ", report.Unexpected)}");
        if (report.ShapeMismatches.Count > 0)
            parts.Add($"{report.ShapeMismatches.Count} size mismatch(es): {string.Join("; ", report.ShapeMismatches)}");
        var from = source == null ? "" : $" from {source}";
        return $"Cannot load weights{from} into {module.GetType().Name}: {string.Join(". ", parts)}.";
    }
}
