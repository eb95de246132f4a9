using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace SeLoRA.Cluster.Transport;

/// <summary>
/// Wire format of the tensor data channel, all little-endian:
/// header = magic "SLTF" (u32), version (u8), reserved (u8), sender length (u16), transfer id (16 bytes), element count (i64),
/// sender (UTF-8); then the payload, raw float32 bytes; then the trailer, XXH64 of the payload bytes (u64). The checksum
/// trails so both ends hash each slice while it is in cache, next to the socket copy, instead of in extra passes.
/// Each answer is a status byte followed by the transfer id it answers.
/// </summary>
public static class TensorFrame
{
    public const uint Magic = 0x46544C53; // "SLTF"
    public const byte Version = 1;
    public const int FixedHeaderBytes = 32;
    public const int MaxSenderBytes = 1024;
    public const int StatusBytes = 17;
    /// <summary>Largest buffer one frame carries: its bytes must fit one span (2 GiB).</summary>
    public const long MaxElements = int.MaxValue / sizeof(float);
    /// <summary>Payload moves and is hashed in slices of this many floats (256 KiB, cache-sized).</summary>
    public const int SliceElements = 1 << 16;

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
        Span<byte> sender = stackalloc byte[senderLength];
        stream.ReadExactly(sender);
        return new TensorFrameHeader(id, count, Encoding.UTF8.GetString(sender));
    }

    /// <summary>
    /// Writes the floats' bytes as they lie in memory (no copy), slice by slice, then their XXH64 as the trailer, which it
    /// returns; progress gets the bytes written so far.
    /// </summary>
    public static ulong WritePayload(Stream stream, ReadOnlySpan<float> data, Action<long>? progress = null)
    {
        var hash = new XxHash64();
        long written = 0;
        for (var start = 0; start < data.Length; start += SliceElements)
        {
            var slice = MemoryMarshal.AsBytes(data.Slice(start, Math.Min(SliceElements, data.Length - start)));
            hash.Append(slice);
            stream.Write(slice);
            written += slice.Length;
            progress?.Invoke(written);
        }
        var checksum = hash.Digest();
        WriteTrailer(stream, checksum);
        return checksum;
    }

    /// <summary>The 8-byte trailer alone (a test that corrupts a payload on purpose writes the bytes and then this).</summary>
    public static void WriteTrailer(Stream stream, ulong checksum)
    {
        Span<byte> trailer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(trailer, checksum);
        stream.Write(trailer);
        stream.Flush();
    }

    /// <summary>
    /// Reads exactly destination.Length floats straight into it, then the trailer; returns the announced and the computed
    /// XXH64. Progress gets the bytes read so far, after every read.
    /// </summary>
    public static TensorPayloadCheck ReadPayload(Stream stream, Span<float> destination, Action<long>? progress = null)
    {
        var hash = new XxHash64();
        long read = 0;
        var total = (long)destination.Length * sizeof(float);
        for (var start = 0; start < destination.Length; start += SliceElements)
        {
            var slice = MemoryMarshal.AsBytes(destination.Slice(start, Math.Min(SliceElements, destination.Length - start)));
            for (var rest = slice; !rest.IsEmpty;)
            {
                var n = stream.Read(rest);
                if (n == 0) throw new EndOfStreamException($"tensor frame: the stream ended after {read:N0} of {total:N0} payload bytes.");
                rest = rest[n..];
                read += n;
                progress?.Invoke(read);
            }
            hash.Append(slice);
        }
        Span<byte> trailer = stackalloc byte[8];
        stream.ReadExactly(trailer);
        return new TensorPayloadCheck(BinaryPrimitives.ReadUInt64LittleEndian(trailer), hash.Digest());
    }

    /// <summary>Reads and discards a payload and its trailer (a refused transfer, so the connection stays in step).</summary>
    public static void SkipPayload(Stream stream, long elementCount)
    {
        var buffer = new byte[64 << 10];
        for (var rest = elementCount * sizeof(float) + 8; rest > 0;)
        {
            var n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, rest));
            if (n == 0) throw new EndOfStreamException("tensor frame: the stream ended inside a refused payload.");
            rest -= n;
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
