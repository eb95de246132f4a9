using System.Buffers.Binary;
using System.IO.Compression;

namespace SeLoRA.Data.Pretraining;

/// <summary>
/// The IDX format of MNIST-style data sets (optionally gzip'd): a big-endian magic (0x0000 type rank), one big-endian
/// int32 per dimension, then the unsigned bytes. Only unsigned-byte data (type 0x08) is read.
/// </summary>
public static class IdxFile
{
    public const int ImagesMagic = 2051;
    public const int LabelsMagic = 2049;

    /// <summary>The dimensions and the data of an IDX file; <paramref name="limit"/> reads only the first items.</summary>
    public static (int[] Shape, byte[] Data) Read(string path, int expectedMagic, int? limit = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: file not found. Fashion-MNIST comes from Debian's package: " +
                                            "apt-get install dataset-fashion-mnist", path);
        try
        {
            using var file = File.OpenRead(path);
            using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
            var header = new byte[4];
            if (ReadFully(stream, header) < 4) throw new InvalidDataException($"{path}: truncated: the file ends inside the 4-byte magic number.");
            var magic = BinaryPrimitives.ReadInt32BigEndian(header);
            if (magic != expectedMagic)
                throw new InvalidDataException($"{path}: bad magic number {magic} (0x{magic:X8}); expected {expectedMagic} " +
                                               $"({(expectedMagic == ImagesMagic ? "IDX images" : expectedMagic == LabelsMagic ? "IDX labels" : "IDX")}).");
            var rank = magic & 0xFF;
            var shape = new int[rank];
            for (var i = 0; i < rank; i++)
            {
                if (ReadFully(stream, header) < 4) throw new InvalidDataException($"{path}: truncated: the file ends inside dimension {i} of the header.");
                shape[i] = BinaryPrimitives.ReadInt32BigEndian(header);
                if (shape[i] < 0) throw new InvalidDataException($"{path}: dimension {i} is negative ({shape[i]}).");
            }
            if (rank == 0) throw new InvalidDataException($"{path}: the header declares no dimensions.");
            var itemSize = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            var items = Math.Min(shape[0], limit ?? int.MaxValue);
            var bytes = items * itemSize;
            if (bytes > Array.MaxLength) throw new InvalidDataException($"{path}: {bytes} bytes of data is more than one array holds.");
            var data = new byte[bytes];
            var read = ReadFully(stream, data);
            if (read < bytes)
                throw new InvalidDataException($"{path}: truncated: the header declares {shape[0]} items of {itemSize} bytes; " +
                                               $"the data ends after {read} of the {bytes} bytes needed (item {read / Math.Max(1, itemSize)}).");
            shape[0] = items;
            return (shape, data);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: not a readable gzip'd IDX file: {e.Message}", e);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: truncated: {e.Message}", e);
        }
    }

    static int ReadFully(Stream stream, Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
