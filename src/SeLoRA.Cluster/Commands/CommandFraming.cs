using System.Buffers.Binary;
using System.Text.Json;

namespace SeLoRA.Cluster.Commands;

/// <summary>
/// The wire format: a 4-byte big-endian unsigned body length (1 to the maximum frame size), then the body, a UTF-8 JSON
/// object (<see cref="CommandFrame"/>). A length over the maximum is refused before anything is allocated.
/// </summary>
public static class CommandFraming
{
    public const int HeaderBytes = 4;
    public const int DefaultMaxFrameBytes = 1024 * 1024;
    /// <summary>Version announced in hello; a client refuses a server that speaks another.</summary>
    public const int ProtocolVersion = 1;

    /// <summary>The frame's bytes, header included.</summary>
    public static byte[] Encode(CommandFrame frame)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(frame, CommandJsonContext.Default.CommandFrame);
        var bytes = new byte[HeaderBytes + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)body.Length);
        body.CopyTo(bytes, HeaderBytes);
        return bytes;
    }

    /// <summary>Parses a body; throws <see cref="CommandException"/> (BadRequest) when it is not a frame.</summary>
    public static CommandFrame Decode(ReadOnlySpan<byte> body)
    {
        try
        {
            var frame = JsonSerializer.Deserialize(body, CommandJsonContext.Default.CommandFrame);
            if (frame is null || string.IsNullOrEmpty(frame.Type))
                throw new CommandException(CommandErrorKind.BadRequest, "malformed frame: no \"type\" field");
            return frame;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new CommandException(CommandErrorKind.BadRequest, $"malformed frame: {FirstLine(e.Message)}");
        }
    }

    /// <summary>
    /// Reads one frame body. Returns null on a clean end of stream between frames; throws <see cref="EndOfStreamException"/>
    /// when the stream ends inside a frame and <see cref="InvalidDataException"/> when the length is 0 or over the limit.
    /// </summary>
    public static async Task<byte[]?> ReadBodyAsync(Stream stream, int maxFrameBytes, CancellationToken cancellation)
    {
        var header = new byte[HeaderBytes];
        var got = await ReadFullyAsync(stream, header, cancellation).ConfigureAwait(false);
        if (got == 0) return null;
        if (got < HeaderBytes) throw new EndOfStreamException($"the stream ended inside a frame header ({got} of {HeaderBytes} bytes)");
        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length == 0) throw new InvalidDataException("empty frame (length 0)");
        if (length > (uint)maxFrameBytes) throw new InvalidDataException($"frame of {length:N0} bytes is over the limit of {maxFrameBytes:N0} bytes");
        var body = new byte[length];
        got = await ReadFullyAsync(stream, body, cancellation).ConfigureAwait(false);
        if (got < body.Length) throw new EndOfStreamException($"the stream ended inside a frame ({got:N0} of {length:N0} bytes)");
        return body;
    }

    static async Task<int> ReadFullyAsync(Stream stream, byte[] buffer, CancellationToken cancellation)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total), cancellation).ConfigureAwait(false);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>Reads and decodes one frame; null at a clean end of stream.</summary>
    public static async Task<CommandFrame?> ReadAsync(Stream stream, int maxFrameBytes, CancellationToken cancellation)
    {
        var body = await ReadBodyAsync(stream, maxFrameBytes, cancellation).ConfigureAwait(false);
        return body is null ? null : Decode(body);
    }

    public static async Task WriteAsync(Stream stream, CommandFrame frame, CancellationToken cancellation)
    {
        await stream.WriteAsync(Encode(frame), cancellation).ConfigureAwait(false);
        await stream.FlushAsync(cancellation).ConfigureAwait(false);
    }

    static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
