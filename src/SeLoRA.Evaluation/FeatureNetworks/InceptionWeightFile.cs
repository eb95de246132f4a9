using SeLoRA.Torch.Safetensors;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.FeatureNetworks;

/// <summary>Reads a weight file for <see cref="FidInceptionV3"/> and copies it in with load_state_dict's strict rules.</summary>
static class InceptionWeightFile
{
    const string OptionalSuffix = ".num_batches_tracked";

    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path)) throw new WeightFileException($"Inception weight file not found: {path}");
        var magic = new byte[8];
        int read;
        using (var stream = File.OpenRead(path))
            read = stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);

        // torch.save writes a zip archive (PK) since PyTorch 1.6, a bare pickle (0x80 protocol byte) before.
        var isZip = read >= 2 && magic[0] == (byte)'P' && magic[1] == (byte)'K';
        var isPickle = read >= 1 && magic[0] == 0x80;
        if (isZip)
            return ReadPickle(path);
        if (isPickle)
            throw new WeightFileException(
                $"{path} is a PyTorch pickle in the format before PyTorch 1.6, which TorchSharp.PyBridge cannot read (pytorch-fid's published file is one). Convert it once with Python: " +
                "python -c \"import torch, safetensors.torch as s; d = torch.load('pt_inception-2015-12-05-6726825d.pth', map_location='cpu'); " +
                "s.save_file({k: v.contiguous() for k, v in d.items()}, 'pt_inception-2015-12-05.safetensors')\"");
        return SafetensorsFile.Load(path);
    }

    /// <summary>A torch.save zip archive of a state dict (PyTorch 1.6 and later), read by TorchSharp.PyBridge.</summary>
    static Dictionary<string, Tensor> ReadPickle(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var table = TorchSharp.PyBridge.PyTorchUnpickler.UnpickleStateDict(stream);
            var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (System.Collections.DictionaryEntry entry in table)
                if (entry.Key is string key && entry.Value is Tensor tensor)
                    result[key] = tensor;
            return result;
        }
        catch (Exception e) when (e is NotImplementedException or InvalidDataException or InvalidCastException)
        {
            throw new WeightFileException($"{path}: not a readable PyTorch state dict ({e.Message})");
        }
    }

    public static void CopyStrict(nn.Module module, IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        var state = module.state_dict();
        var missing = state.Keys.Where(k => !tensors.ContainsKey(k) && !k.EndsWith(OptionalSuffix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        var unexpected = tensors.Keys.Where(k => !state.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
            throw new WeightFileException($"{source}: missing key '{missing[0]}'{More(missing.Count)} for {nameof(FidInceptionV3)} " +
                "(expected pytorch-fid's pt_inception-2015-12-05 state dict)");
        if (unexpected.Count > 0)
            throw new WeightFileException($"{source}: unexpected key '{unexpected[0]}'{More(unexpected.Count)} for {nameof(FidInceptionV3)} " +
                "(expected pytorch-fid's pt_inception-2015-12-05 state dict)");
        foreach (var key in tensors.Keys.Order(StringComparer.Ordinal))
        {
            var stored = tensors[key];
            var target = state[key];
            if (!stored.shape.SequenceEqual(target.shape))
                throw new WeightFileException($"{source}: '{key}' has shape {SafetensorsFile.FormatShape(stored.shape)} in the file, " +
                    $"{nameof(FidInceptionV3)} expects {SafetensorsFile.FormatShape(target.shape)}");
            if (SafetensorsDType.IsFloating(stored.dtype) != SafetensorsDType.IsFloating(target.dtype))
                throw new WeightFileException($"{source}: '{key}' is {stored.dtype} in the file, {nameof(FidInceptionV3)} expects {target.dtype}");
        }

        using var noGrad = no_grad();
        foreach (var (key, stored) in tensors)
            state[key].copy_(stored);
    }

    static string More(int count) => count > 1 ? $" (and {count - 1} more)" : "";
}
