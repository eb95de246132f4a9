using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace SeLoRA.Cluster.Transport;

/// <summary>
/// Wire format of the tensor data channel, all little-endian:
/// header = magic "SLTF" (u32), version (u8), reserved (u8), sender length (u16), transfer id (16 bytes), element count (i64),
/// XXH64 of the payload bytes (u64), sender (UTF-8); then the payload, raw float32 bytes.
/// Each answer is a status byte followed by the transfer id it answers.
/// </summary>
public static class TensorFrame
{
    public const uint Magic = 0x46544C53; // "SLTF"
    public const byte Version = 1;
    public const int FixedHeaderBytes = 40;
    public const int MaxSenderBytes = 1024;
    public const int StatusBytes = 17;
    /// <summary>Largest buffer one frame carries: its bytes must fit one span (2 GiB).</summary>
    public const long MaxElements = int.MaxValue / sizeof(float);
    /// <summary>Payload moves in slices of this many floats (4 MiB), so progress is visible while bytes arrive.</summary>
    public const int SliceElements = 1 << 20;

    static TensorFrame()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("the tensor channel sends raw little-endian float32 bytes; this machine is big-endian.");
    }

    public static ulong Checksum(ReadOnlySpan<float> data) => XxHash64.Hash(MemoryMarshal.AsBytes(data));

    public static void WriteHeader(Stream stream, in TensorFrameHeader header)
    {
        var sender = Encoding.UTF8.GetBytes(header.Sender);
        if (sender.Length > MaxSenderBytes) sender = sender[..MaxSenderBytes];
        Span<byte> buffer = stackalloc byte[FixedHeaderBytes + MaxSenderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, Magic);
        buffer[4] = Version;
        buffer[5] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[6..], (ushort)sender.Length);
        header.TransferId.TryWriteBytes(buffer[8..24]);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[24..], header.ElementCount);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[32..], header.Checksum);
        sender.CopyTo(buffer[FixedHeaderBytes..]);
        stream.Write(buffer[..(FixedHeaderBytes + sender.Length)]);
    }

    /// <summary>Reads one header; null when the stream ends cleanly before it (the peer closed an idle connection).</summary>
    public static TensorFrameHeader? ReadHeader(Stream stream)
    {
        Span<byte> buffer = stackalloc byte[FixedHeaderBytes];
        var first = stream.Read(buffer);
        if (first == 0) return null;
        stream.ReadExactly(buffer[first..]);
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        if (magic != Magic)
            throw new InvalidDataException($"tensor frame: bad magic 0x{magic:X8} (expected 0x{Magic:X8}); the peer is not a tensor channel.");
        if (buffer[4] != Version)
            throw new InvalidDataException($"tensor frame: version {buffer[4]}, this node speaks version {Version}.");
        var senderLength = BinaryPrimitives.ReadUInt16LittleEndian(buffer[6..]);
        if (senderLength > MaxSenderBytes)
            throw new InvalidDataException($"tensor frame: sender name of {senderLength} bytes (at most {MaxSenderBytes}).");
        var id = new Guid(buffer[8..24]);
        var count = BinaryPrimitives.ReadInt64LittleEndian(buffer[24..]);
        var checksum = BinaryPrimitives.ReadUInt64LittleEndian(buffer[32..]);
        Span<byte> sender = stackalloc byte[senderLength];
        stream.ReadExactly(sender);
        return new TensorFrameHeader(id, count, checksum, Encoding.UTF8.GetString(sender));
    }

    /// <summary>Writes the floats' bytes as they lie in memory (no copy), slice by slice; progress gets the bytes written so far.</summary>
    public static void WritePayload(Stream stream, ReadOnlySpan<float> data, Action<long>? progress = null)
    {
        long written = 0;
        for (var start = 0; start < data.Length; start += SliceElements)
        {
            var slice = data.Slice(start, Math.Min(SliceElements, data.Length - start));
            stream.Write(MemoryMarshal.AsBytes(slice));
            written += (long)slice.Length * sizeof(float);
            progress?.Invoke(written);
        }
    }

    /// <summary>Reads exactly destination.Length floats straight into it; progress gets the bytes read so far, after every read.</summary>
    public static void ReadPayload(Stream stream, Span<float> destination, Action<long>? progress = null)
    {
        long read = 0;
        for (var start = 0; start < destination.Length; start += SliceElements)
        {
            var slice = MemoryMarshal.AsBytes(destination.Slice(start, Math.Min(SliceElements, destination.Length - start)));
            while (!slice.IsEmpty)
            {
                var n = stream.Read(slice);
                if (n == 0) throw new EndOfStreamException($"tensor frame: the stream ended after {read:N0} of {(long)destination.Length * sizeof(float):N0} payload bytes.");
                slice = slice[n..];
                read += n;
                progress?.Invoke(read);
            }
        }
    }

    public static void WriteStatus(Stream stream, TensorFrameStatus status, Guid transferId)
    {
        Span<byte> buffer = stackalloc byte[StatusBytes];
        buffer[0] = (byte)status;
        transferId.TryWriteBytes(buffer[1..]);
        stream.Write(buffer);
        stream.Flush();
    }

    public static TensorFrameStatus ReadStatus(Stream stream, Guid transferId)
    {
        Span<byte> buffer = stackalloc byte[StatusBytes];
        stream.ReadExactly(buffer);
        var id = new Guid(buffer[1..]);
        if (id != transferId)
            throw new InvalidDataException($"tensor frame: an answer for transfer {id} arrived while sending transfer {transferId}.");
        var status = (TensorFrameStatus)buffer[0];
        if (!Enum.IsDefined(status))
            throw new InvalidDataException($"tensor frame: unknown status {buffer[0]} for transfer {transferId}.");
        return status;
    }
}
