using SeLoRA.Torch.Safetensors;

namespace SeLoRA.Adapters.Reporting;

/// <summary>
/// The adapted layers of saved LoRA-format adapters (ours, PEFT's or diffusers'), read from safetensors headers alone:
/// each module's lora_A [r, in] and lora_B [out, r] give its rank and shape.
/// </summary>
public static class AdapterFileLayers
{
    // LoRA, SeLoRA and DyLoRA keys end in .weight; PEFT saves AdaLoRA's A, B and E as bare parameters.
    static readonly (string A, string B)[] Suffixes = [(".lora_A.weight", ".lora_B.weight"), (".lora_A", ".lora_B")];

    /// <summary>One adapter file, or every *.safetensors under a folder (PEFT saves one folder per component).</summary>
    public static IReadOnlyList<AdaptedLayerInfo> Read(string fileOrFolder)
    {
        var files = Directory.Exists(fileOrFolder)
            ? Directory.EnumerateFiles(fileOrFolder, "*.safetensors", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList()
            : [fileOrFolder];
        if (files.Count == 0) throw new FileNotFoundException($"{fileOrFolder}: no .safetensors adapter files in this folder.", fileOrFolder);
        var layers = new List<AdaptedLayerInfo>();
        foreach (var file in files)
        {
            var entries = SafetensorsFile.ReadHeader(file).Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
            foreach (var (A, B) in Suffixes)
            foreach (var (name, a) in entries.Where(e => e.Key.EndsWith(A, StringComparison.Ordinal)))
            {
                var module = name[..^A.Length];
                if (!entries.TryGetValue(module + B, out var b))
                    throw new InvalidDataException($"{file}: {name} has no matching {module + B}.");
                if (a.Shape.Length != 2 || b.Shape.Length != 2 || a.Shape[0] != b.Shape[1])
                    throw new InvalidDataException($"{file}: {module}: lora_A [{string.Join(", ", a.Shape)}] and lora_B [{string.Join(", ", b.Shape)}] " +
                                                   "are not [r, in] and [out, r].");
                layers.Add(new AdaptedLayerInfo(module, (int)a.Shape[0], a.Shape[1], b.Shape[0]));
            }
        }
        if (layers.Count == 0) throw new InvalidDataException($"{fileOrFolder}: no lora_A/lora_B tensors found.");
        return layers;
    }
}
