using SeLoRA.Torch.Safetensors;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Loading;

/// <summary>
/// Sharded checkpoints as diffusers and transformers write them: <c>&lt;name&gt;.safetensors.index.json</c> with a
/// "weight_map" from tensor name to shard file (beside the index), and "metadata" (total_size).
/// </summary>
public static class ShardedSafetensors
{
    /// <summary>Reads an index's weight_map (tensor name → shard file name).</summary>
    public static IReadOnlyDictionary<string, string> ReadWeightMap(string indexPath)
    {
        if (!File.Exists(indexPath)) throw new WeightFileException($"Shard index not found: {indexPath}");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
        }
        catch (JsonException e)
        {
            throw new WeightFileException($"{indexPath}: not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object ||
                !document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new WeightFileException($"{indexPath}: no \"weight_map\" object");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(entry.Value.GetString()))
                    throw new WeightFileException($"{indexPath}: weight_map entry '{entry.Name}' is not a file name");
                var shard = entry.Value.GetString()!;
                if (System.IO.Path.IsPathRooted(shard) || shard.Contains(".."))
                    throw new WeightFileException($"{indexPath}: weight_map entry '{entry.Name}' names '{shard}', outside the index's folder");
                result[entry.Name] = shard;
            }
            return result;
        }
    }

    /// <summary>
    /// Loads every shard an index names. Fails, naming the index, if a shard file is missing or a tensor the weight_map
    /// assigns to a shard is not in it.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string indexPath, Func<string, bool>? include = null)
    {
        var weightMap = ReadWeightMap(indexPath);
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(indexPath))!;
        var shards = weightMap.Values.Distinct(StringComparer.Ordinal).OrderBy(s => s, StringComparer.Ordinal).ToList();

        var missing = shards.Where(s => !File.Exists(System.IO.Path.Combine(folder, s))).ToList();
        if (missing.Count > 0)
            throw new WeightFileException(
                $"{indexPath} names {missing.Count} shard file(s) that do not exist in {folder}: {string.Join(", ", missing)}");

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var shard in shards)
            {
                var shardPath = System.IO.Path.Combine(folder, shard);
                var header = SafetensorsFile.ReadHeader(shardPath);
                var inShard = header.Entries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
                var absent = weightMap.Where(kv => kv.Value == shard && !inShard.Contains(kv.Key)).Select(kv => kv.Key).ToList();
                if (absent.Count > 0)
                    throw new WeightFileException(
                        $"{indexPath} puts {absent.Count} tensor(s) in {shard}, which does not contain them: {string.Join(", ", absent.Take(20))}");

                foreach (var (name, tensor) in SafetensorsFile.Load(shardPath, include))
                {
                    if (!result.TryAdd(name, tensor))
                    {
                        tensor.Dispose();
                        throw new WeightFileException($"{indexPath}: tensor '{name}' is stored in more than one shard (again in {shard})");
                    }
                }
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>
    /// Writes tensors as shards of at most <paramref name="maxShardBytes"/> (a tensor larger than that gets a shard of its
    /// own) named <c>&lt;baseName&gt;[.variant]-00001-of-0000N.safetensors</c>, plus
    /// <c>&lt;baseName&gt;.safetensors.index[.variant].json</c> (the names diffusers gives variants).
    /// Returns the index path. With one shard it still writes an index, so the layout is predictable for callers that ask for it.
    /// </summary>
    public static string Save(string folder, string baseName, IEnumerable<KeyValuePair<string, Tensor>> tensors, long maxShardBytes,
        string? variant = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var variantPart = string.IsNullOrEmpty(variant) ? "" : "." + variant;
        if (maxShardBytes <= 0) throw new ArgumentOutOfRangeException(nameof(maxShardBytes), maxShardBytes, "must be positive");
        var ordered = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var shards = new List<List<KeyValuePair<string, Tensor>>>();
        var current = new List<KeyValuePair<string, Tensor>>();
        long currentBytes = 0, totalBytes = 0;
        foreach (var kv in ordered)
        {
            var bytes = kv.Value.numel() * SafetensorsDType.ElementSize(kv.Value.dtype);
            if (current.Count > 0 && currentBytes + bytes > maxShardBytes)
            {
                shards.Add(current);
                current = [];
                currentBytes = 0;
            }
            current.Add(kv);
            currentBytes += bytes;
            totalBytes += bytes;
        }
        if (current.Count > 0 || shards.Count == 0) shards.Add(current);

        Directory.CreateDirectory(folder);
        var weightMap = new JsonObject();
        for (var i = 0; i < shards.Count; i++)
        {
            var shardName = $"{baseName}{variantPart}-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            SafetensorsFile.Save(System.IO.Path.Combine(folder, shardName), shards[i], metadata);
            foreach (var kv in shards[i]) weightMap[kv.Key] = shardName;
        }

        var index = new JsonObject
        {
            ["metadata"] = new JsonObject { ["total_size"] = totalBytes },
            ["weight_map"] = weightMap,
        };
        var indexPath = System.IO.Path.Combine(folder, $"{baseName}.safetensors.index{variantPart}.json");
        File.WriteAllText(indexPath, index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return indexPath;
    }
}
