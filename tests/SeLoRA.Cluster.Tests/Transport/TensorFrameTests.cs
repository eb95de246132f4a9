using System.Text;
using SeLoRA.Cluster.Transport;

namespace SeLoRA.Cluster.Tests.Transport;

public sealed class TensorFrameTests
{
    [Theory]
    [InlineData("", 0xEF46DB3751D8E999UL)]
    [InlineData("a", 0xD24EC4F1A98C6E5BUL)]
    [InlineData("abc", 0x44BC2CF5AD770999UL)]
    [InlineData("0123456789abcdef0123456789abcdef", 0x642A94958E71E6C5UL)]
    [InlineData("Nobody inspects the spammish repetition", 0xFBCEA83C8A378BF1UL)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x0B242D361FDA71BCUL)]
    public void XxHash64_matches_reference_vectors(string text, ulong expected) =>
        Assert.Equal(expected, XxHash64.Hash(Encoding.ASCII.GetBytes(text)));

    /// <summary>NaNs with payloads (quiet and signalling), infinities, -0 and subnormals must come back bit for bit.</summary>
    internal static float[] Awkward(int count, int seed)
    {
        int[] specials = [0x7FC00000, 0x7FC12345, unchecked((int)0xFFC00001), 0x7F800001, 0x7FBFFFFF, 0x7F800000,
            unchecked((int)0xFF800000), unchecked((int)0x80000000), 0x00000001, unchecked((int)0x807FFFFF)];
        var random = new Random(seed);
        var data = new float[count];
        for (var i = 0; i < count; i++)
            data[i] = i % 7 == 3 ? BitConverter.Int32BitsToSingle(specials[i / 7 % specials.Length]) : BitConverter.Int32BitsToSingle(random.Next());
        return data;
    }

    internal static void AssertBitExact(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"element {i}: 0x{BitConverter.SingleToInt32Bits(actual[i]):X8}, expected 0x{BitConverter.SingleToInt32Bits(expected[i]):X8}");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1023)]
    [InlineData(TensorFrame.SliceElements + 5)]
    public void Frame_round_trips_bit_exact_including_NaN_payloads_and_odd_sizes(int count)
    {
        var data = Awkward(count, count);
        var id = Guid.NewGuid();
        var header = new TensorFrameHeader(id, count, "akka.tcp://selora@10.0.0.1:4053 é");
        using var stream = new MemoryStream();
        TensorFrame.WriteHeader(stream, header);
        var sent = TensorFrame.WritePayload(stream, data);
        Assert.Equal(TensorFrame.Checksum(data), sent);
        Assert.Equal(TensorFrame.FixedHeaderBytes + Encoding.UTF8.GetByteCount(header.Sender) + 4L * count + 8, stream.Length);
        stream.Position = 0;
        var read = TensorFrame.ReadHeader(stream);
        Assert.Equal(header, read);
        var back = new float[count];
        long progress = 0;
        var check = TensorFrame.ReadPayload(stream, back, bytes => progress = bytes);
        AssertBitExact(data, back);
        Assert.Equal(4L * count, progress);
        Assert.Equal(new TensorPayloadCheck(sent, sent), check);
        Assert.Null(TensorFrame.ReadHeader(stream)); // clean end of stream
    }

    [Fact]
    public void Streamed_hash_equals_one_shot_hash_whatever_the_pieces()
    {
        var bytes = new byte[1000];
        new Random(3).NextBytes(bytes);
        var expected = XxHash64.Hash(bytes);
        foreach (var piece in new[] { 1, 7, 31, 32, 33, 100, 999 })
        {
            var state = new XxHash64();
            for (var i = 0; i < bytes.Length; i += piece) state.Append(bytes.AsSpan(i, Math.Min(piece, bytes.Length - i)));
            Assert.Equal(expected, state.Digest());
        }
    }

    [Fact]
    public void Checksum_sees_a_single_flipped_bit_and_a_NaN_payload_change()
    {
        var data = Awkward(4099, 7);
        var original = TensorFrame.Checksum(data);
        data[4098] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(data[4098]) ^ 1);
        Assert.NotEqual(original, TensorFrame.Checksum(data));
        data = Awkward(4099, 7);
        data[3] = BitConverter.Int32BitsToSingle(0x7FC00002); // NaN == NaN for floats, but not for bytes
        Assert.NotEqual(original, TensorFrame.Checksum(data));
    }

    [Fact]
    public void Bad_magic_and_answers_for_another_transfer_are_refused()
    {
        using var junk = new MemoryStream(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n0123456789abcdef"));
        var error = Assert.Throws<InvalidDataException>(() => TensorFrame.ReadHeader(junk));
        Assert.Contains("bad magic", error.Message);

        using var answer = new MemoryStream();
        var other = Guid.NewGuid();
        TensorFrame.WriteStatus(answer, TensorFrameStatus.Completed, other);
        answer.Position = 0;
        var mine = Guid.NewGuid();
        error = Assert.Throws<InvalidDataException>(() => TensorFrame.ReadStatus(answer, mine));
        Assert.Contains(other.ToString(), error.Message);
        Assert.Contains(mine.ToString(), error.Message);
    }

    [Fact]
    public void Truncated_payload_throws_end_of_stream()
    {
        var data = Awkward(100, 1);
        using var stream = new MemoryStream();
        TensorFrame.WritePayload(stream, data);
        stream.SetLength(399);
        stream.Position = 0;
        Assert.Throws<EndOfStreamException>(() => TensorFrame.ReadPayload(stream, new float[100]));
    }
}
