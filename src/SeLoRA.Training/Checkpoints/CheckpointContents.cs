using System.Text.Json;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Adapters.Persistence;
using SeLoRA.Torch.Safetensors;
using SeLoRA.Training.Methods;
using static TorchSharp.torch;

namespace SeLoRA.Training.Checkpoints;

/// <summary>
/// The tensors of a checkpoint: adapters.safetensors (both components, diffusers' key convention, with ranks and
/// SeLoRA's growth state in the metadata, loadable by PEFT/diffusers), optimizer.safetensors (Adam's moments and step
/// counts in the optimizer's parameter order) and, for AdaLoRA, allocator.safetensors (the importance EMAs and the rank
/// pattern). Restore order: adapters into a freshly injected model, then a new optimizer over the trainable
/// parameters, then its state.
/// </summary>
public static class CheckpointContents
{
    public const string AdaptersFile = "adapters.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string AllocatorFile = "allocator.safetensors";
    const string StepsKey = "adam_steps";
    const string PatternKey = "rank_pattern";

    public static void Write(string directory, AdapterSet adapters, AdamOptimizer optimizer)
    {
        AdapterFile.Save(Path.Combine(directory, AdaptersFile), adapters.Components, AdapterKeyConvention.Diffusers);
        WriteOptimizer(Path.Combine(directory, OptimizerFile), optimizer);
        if (adapters.Allocator is { } allocator) WriteAllocator(Path.Combine(directory, AllocatorFile), allocator);
    }

    /// <summary>Loads the adapters (SeLoRA layers grow to their saved ranks and get their draw counts back).</summary>
    public static void LoadAdapters(string directory, AdapterSet adapters) =>
        AdapterFile.Load(Path.Combine(directory, AdaptersFile), adapters.Components);

    public static void LoadOptimizer(string directory, AdamOptimizer optimizer)
    {
        var path = Path.Combine(directory, OptimizerFile);
        var header = SafetensorsFile.ReadHeader(path);
        var steps = JsonSerializer.Deserialize<long[]>(header.Metadata.GetValueOrDefault(StepsKey) ?? "null")
                    ?? throw new InvalidDataException($"{path}: no '{StepsKey}' metadata.");
        var tensors = SafetensorsFile.Load(path);
        try
        {
            var states = steps.Select((s, i) => new AdamParameterState(s,
                tensors.GetValueOrDefault($"{i:D6}.exp_avg"), tensors.GetValueOrDefault($"{i:D6}.exp_avg_sq"))).ToList();
            try
            {
                optimizer.ImportState(states);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{path}: the optimizer state does not fit the model ({e.Message}).", e);
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    public static void LoadAllocator(string directory, AdapterSet adapters)
    {
        if (adapters.Allocator is not { } allocator) return;
        var path = Path.Combine(directory, AllocatorFile);
        var header = SafetensorsFile.ReadHeader(path);
        var pattern = header.Metadata.TryGetValue(PatternKey, out var json) ? JsonSerializer.Deserialize<Dictionary<string, bool[]>>(json) : null;
        var count = adapters.Layers.Sum(l => l.TrainableParameters().Count());
        var tensors = SafetensorsFile.Load(path);
        try
        {
            var states = Enumerable.Range(0, count)
                .Select(i => tensors.TryGetValue($"{i:D6}.sensitivity", out var s) && tensors.TryGetValue($"{i:D6}.uncertainty", out var u)
                    ? ((Tensor, Tensor)?)(s, u) : null)
                .ToList();
            allocator.ImportImportance(states, pattern);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    static void WriteOptimizer(string path, AdamOptimizer optimizer)
    {
        var states = optimizer.ExportState();
        try
        {
            var tensors = new List<KeyValuePair<string, Tensor>>();
            for (var i = 0; i < states.Count; i++)
            {
                if (states[i].ExpAvg is { } m) tensors.Add(new($"{i:D6}.exp_avg", m));
                if (states[i].ExpAvgSq is { } v) tensors.Add(new($"{i:D6}.exp_avg_sq", v));
            }
            var metadata = new Dictionary<string, string>(SafetensorsFile.PyTorchMetadata)
            {
                [StepsKey] = JsonSerializer.Serialize(states.Select(s => s.Step).ToArray()),
            };
            SafetensorsFile.Save(path, tensors, metadata);
        }
        finally
        {
            foreach (var s in states)
            {
                s.ExpAvg?.Dispose();
                s.ExpAvgSq?.Dispose();
            }
        }
    }

    static void WriteAllocator(string path, SeLoRA.Adapters.AdaLora.RankAllocator allocator)
    {
        var states = allocator.ExportImportance();
        try
        {
            var tensors = new List<KeyValuePair<string, Tensor>>();
            for (var i = 0; i < states.Count; i++)
                if (states[i] is { } st)
                {
                    tensors.Add(new($"{i:D6}.sensitivity", st.Sensitivity));
                    tensors.Add(new($"{i:D6}.uncertainty", st.Uncertainty));
                }
            var metadata = new Dictionary<string, string>(SafetensorsFile.PyTorchMetadata);
            if (allocator.RankPattern is { } pattern) metadata[PatternKey] = JsonSerializer.Serialize(pattern);
            SafetensorsFile.Save(path, tensors, metadata);
        }
        finally
        {
            foreach (var st in states)
                if (st is { } s)
                {
                    s.Sensitivity.Dispose();
                    s.Uncertainty.Dispose();
                }
        }
    }
}
