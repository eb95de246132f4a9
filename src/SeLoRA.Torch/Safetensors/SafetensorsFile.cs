using System.Text;
using System.Text.Json;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Torch.Safetensors;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
/// <c>{name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}</c>, then the raw little-endian data.
/// </summary>
/// <remarks>
/// Own code rather than TorchSharp.PyBridge.Safetensors because PyBridge 1.4.4 neither writes nor returns
/// "__metadata__" (transformers' from_pretrained expects {"format": "pt"} in files it reads), writes the header length
/// as a character count, does not pad the header, and does not check offsets against shapes or the file length,
/// so a truncated file fails with no name. Tests check both readers agree on the reference files.
/// </remarks>
public static class SafetensorsFile
{
    /// <summary>The safetensors reference implementation rejects larger headers; so does this one.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    const string MetadataKey = "__metadata__";

    /// <summary>The metadata diffusers and transformers write, and transformers checks for.</summary>
    public static IReadOnlyDictionary<string, string> PyTorchMetadata { get; } = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>Parses and validates the header of a safetensors file.</summary>
    public static SafetensorsHeader ReadHeader(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>Loads the tensors of a file (all of them, or those <paramref name="include"/> accepts) onto the CPU in their stored dtype.</summary>
    public static Dictionary<string, Tensor> Load(string path, Func<string, bool>? include = null)
    {
        TorchRuntime.EnsureLoaded();
        using var stream = OpenRead(path);
        var header = ReadHeader(stream, path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var entry in header.Entries)
            {
                if (include != null && !include(entry.Name)) continue;
                result.Add(entry.Name, ReadTensor(stream, header, entry));
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
    /// Writes tensors (any device, any layout) as a safetensors file: compact JSON header padded with spaces to a multiple
    /// of 8, tensors sorted by element size (largest first) then name, so every tensor is aligned to its element size.
    /// The file is written beside the target and renamed into place, so a failed save leaves no half-written file.
    /// </summary>
    /// <param name="metadata">The "__metadata__" strings; null writes {"format": "pt"} as diffusers and transformers do.</param>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        TorchRuntime.EnsureLoaded();
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian; this machine is not");
        metadata ??= PyTorchMetadata;

        var items = tensors.ToList();
        var duplicate = items.GroupBy(kv => kv.Key, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null) throw new ArgumentException($"Tensor name '{duplicate.Key}' appears twice; cannot save {path}");
        if (items.Any(kv => kv.Key == MetadataKey)) throw new ArgumentException($"'{MetadataKey}' is reserved and cannot name a tensor ({path})");

        var ordered = items
            .Select(kv => (kv.Key, Tensor: kv.Value, Size: SafetensorsDType.ElementSize(kv.Value.dtype)))
            .OrderByDescending(x => x.Size).ThenBy(x => x.Key, StringComparer.Ordinal)
            .ToList();

        var headerBytes = BuildHeader(ordered.Select(x => (x.Key, x.Tensor.dtype, x.Tensor.shape, (long)x.Size)), metadata);

        var fullPath = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        var temp = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> length = stackalloc byte[8];
                BitConverter.TryWriteBytes(length, (ulong)headerBytes.Length);
                stream.Write(length);
                stream.Write(headerBytes);
                foreach (var (_, tensor, _) in ordered)
                    WriteTensor(stream, tensor);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    static FileStream OpenRead(string path)
    {
        if (!File.Exists(path)) throw new WeightFileException($"Safetensors file not found: {path}");
        // Tensors are read in large pieces, so the stream buffer would only add a copy.
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
    }

    static SafetensorsHeader ReadHeader(FileStream stream, string path)
    {
        var fileLength = stream.Length;
        if (fileLength < 8) throw new WeightFileException($"{path} is not a safetensors file: {fileLength} bytes, shorter than the 8-byte header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        var headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
            throw new WeightFileException($"{path} is not a valid safetensors file: header length {headerLength} with a file of {fileLength} bytes");

        var json = new byte[headerLength];
        stream.ReadExactly(json);
        var dataStart = 8 + (long)headerLength;
        var dataLength = fileLength - dataStart;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new WeightFileException($"{path}: the safetensors header is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new WeightFileException($"{path}: the safetensors header is not a JSON object");
            var entries = new List<SafetensorsEntry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    if (property.Value.ValueKind == JsonValueKind.Null) continue;
                    if (property.Value.ValueKind != JsonValueKind.Object)
                        throw new WeightFileException($"{path}: \"{MetadataKey}\" must be an object of strings");
                    foreach (var m in property.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw new WeightFileException($"{path}: metadata value \"{m.Name}\" is not a string");
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                if (!names.Add(property.Name))
                    throw new WeightFileException($"{path}: tensor '{property.Name}' appears twice in the header");
                entries.Add(ParseEntry(path, property, dataLength));
            }
            return new SafetensorsHeader(path, entries, metadata, dataStart);
        }
    }

    static SafetensorsEntry ParseEntry(string path, JsonProperty property, long dataLength)
    {
        var name = property.Name;
        var value = property.Value;
        string Bad(string why) => $"{path}: tensor '{name}': {why}";
        if (value.ValueKind != JsonValueKind.Object) throw new WeightFileException(Bad("its header entry is not an object"));

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new WeightFileException(Bad("no \"dtype\" string"));
        var dtypeName = dtypeElement.GetString()!;
        var dtype = SafetensorsDType.ToScalarType(dtypeName)
                    ?? throw new WeightFileException(Bad($"dtype {dtypeName} is not supported (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)"));

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new WeightFileException(Bad("no \"shape\" array"));
        var shape = new long[shapeElement.GetArrayLength()];
        var i = 0;
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var dim) || dim < 0)
                throw new WeightFileException(Bad($"shape {shapeElement.GetRawText()} is not a list of non-negative integers"));
            shape[i++] = dim;
        }

        if (!value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array ||
            offsetsElement.GetArrayLength() != 2)
            throw new WeightFileException(Bad("no \"data_offsets\" pair"));
        var begin = offsetsElement[0].TryGetInt64(out var b) ? b : -1;
        var end = offsetsElement[1].TryGetInt64(out var e) ? e : -1;
        if (begin < 0 || end < begin || end > dataLength)
            throw new WeightFileException(Bad($"data_offsets [{begin}, {end}] lie outside the {dataLength}-byte data section (truncated file?)"));

        var entry = new SafetensorsEntry(name, dtypeName, dtype, shape, begin, end);
        var expected = entry.ElementCount * SafetensorsDType.ElementSize(dtype);
        if (entry.ByteLength != expected)
            throw new WeightFileException(Bad($"{entry.ByteLength} bytes stored, but {dtypeName} {FormatShape(shape)} needs {expected}"));
        return entry;
    }

    static Tensor ReadTensor(FileStream stream, SafetensorsHeader header, SafetensorsEntry entry)
    {
        if (entry.ByteLength > int.MaxValue)
            throw new WeightFileException($"{header.Path}: tensor '{entry.Name}' is {entry.ByteLength} bytes; single tensors over 2 GiB are not supported");
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian; this machine is not");
        var tensor = torch.empty(entry.Shape, entry.DType);
        try
        {
            if (entry.ByteLength > 0)
            {
                stream.Position = header.DataStart + entry.Begin;
                // On the CPU, Tensor.bytes is a span over the tensor's own storage, so this reads straight into it.
                stream.ReadExactly(tensor.bytes);
            }
            return tensor;
        }
        catch (Exception e)
        {
            tensor.Dispose();
            if (e is EndOfStreamException)
                throw new WeightFileException($"{header.Path}: tensor '{entry.Name}' runs past the end of the file", e);
            throw;
        }
    }

    static void WriteTensor(Stream stream, Tensor tensor)
    {
        if (tensor.numel() == 0) return;
        using var scope = torch.NewDisposeScope();
        // A fresh CPU copy is contiguous and starts at its storage's first byte, which Tensor.bytes requires.
        var cpu = tensor.detach().to(DeviceType.CPU).contiguous().clone();
        stream.Write(cpu.bytes);
    }

    static byte[] BuildHeader(IEnumerable<(string Name, ScalarType DType, long[] Shape, long ElementSize)> tensors,
        IReadOnlyDictionary<string, string> metadata)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            if (metadata.Count > 0)
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) writer.WriteString(k, v);
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, dtype, shape, elementSize) in tensors)
            {
                var length = shape.Aggregate(1L, (a, b) => a * b) * elementSize;
                writer.WriteStartObject(name);
                writer.WriteString("dtype", SafetensorsDType.ToName(dtype));
                writer.WriteStartArray("shape");
                foreach (var d in shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + length);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += length;
            }
            writer.WriteEndObject();
        }
        var padding = (int)((8 - buffer.Length % 8) % 8);
        for (var i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    public static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
