using System.Buffers.Binary;
using SeLoRA.Cluster.Commands;

namespace SeLoRA.Cluster.Tests.Commands;

public sealed class CommandFramingTests
{
    [Fact]
    public async Task A_frame_round_trips_with_a_big_endian_length_prefix()
    {
        var frame = new CommandFrame
        {
            Type = CommandFrameTypes.Schema,
            Palettes = [new PaletteSpec("p", "d", [new CommandSpec("c", "e", [new CommandArgumentSpec("address", "a", "x", Mandatory: true, Default: "y")])])],
        };
        var bytes = CommandFraming.Encode(frame);
        Assert.Equal(bytes.Length - 4, (int)BinaryPrimitives.ReadUInt32BigEndian(bytes));
        var back = await CommandFraming.ReadAsync(new MemoryStream(bytes), 1024, TestContext.Current.CancellationToken);
        Assert.NotNull(back);
        var argument = back.Palettes![0].Commands[0].Arguments[0];
        Assert.Equal(new CommandArgumentSpec("address", "a", "x", Mandatory: true, Default: "y"), argument);

        var end = CommandFraming.Decode(CommandFraming.Encode(CommandFrame.EndError("7", CommandErrorKind.NotFound, "gone")).AsSpan(4));
        Assert.Equal((CommandFrameTypes.End, "7", false, CommandErrorKind.NotFound, "gone"), (end.Type, end.Id, end.Ok, end.Kind, end.Message));
        Assert.Contains("\"kind\":\"NotFound\"", System.Text.Encoding.UTF8.GetString(CommandFraming.Encode(end)));
    }

    [Fact]
    public async Task Limits_empty_oversized_and_truncated_frames_are_refused()
    {
        var cancel = TestContext.Current.CancellationToken;
        var big = CommandFraming.Encode(CommandFrame.Line("1", new string('x', 2000)));
        await Assert.ThrowsAsync<InvalidDataException>(() => CommandFraming.ReadBodyAsync(new MemoryStream(big), 1024, cancel));
        await Assert.ThrowsAsync<InvalidDataException>(() => CommandFraming.ReadBodyAsync(new MemoryStream([0, 0, 0, 0]), 1024, cancel));
        await Assert.ThrowsAsync<EndOfStreamException>(() => CommandFraming.ReadBodyAsync(new MemoryStream(big[..100]), 4096, cancel));
        await Assert.ThrowsAsync<EndOfStreamException>(() => CommandFraming.ReadBodyAsync(new MemoryStream(big[..2]), 4096, cancel));
        Assert.Null(await CommandFraming.ReadBodyAsync(new MemoryStream(), 4096, cancel));
        // Exactly at the limit is fine.
        Assert.NotNull(await CommandFraming.ReadBodyAsync(new MemoryStream(big), big.Length - 4, cancel));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{}")]
    [InlineData("[1,2]")]
    [InlineData("{\"type\":\"end\",\"kind\":\"NoSuchKind\"}")]
    [InlineData("{\"type\":\"execute\",\"args\":\"not a list\"}")]
    [InlineData("{\"type\":3}")]
    public void Malformed_bodies_are_BadRequest(string body)
    {
        var e = Assert.Throws<CommandException>(() => CommandFraming.Decode(System.Text.Encoding.UTF8.GetBytes(body)));
        Assert.Equal(CommandErrorKind.BadRequest, e.Kind);
    }
}
