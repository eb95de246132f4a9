using SeLoRA.Torch.Randomness;

namespace SeLoRA.Torch.Tests;

public class SplitMix64Tests
{
    [Fact]
    public void The_stream_matches_vignas_reference_values()
    {
        // splitmix64.c with x = 1234567: the first outputs.
        var rng = new SplitMix64(1234567);
        Assert.Equal(6457827717110365317UL, rng.Next());
        Assert.Equal(3203168211198807973UL, rng.Next());
        Assert.Equal(9817491932198370423UL, rng.Next());
    }

    [Fact]
    public void Hash_is_the_first_output_and_bounded_draws_stay_in_range()
    {
        Assert.Equal(new SplitMix64(42).Next(), SplitMix64.Hash(42));
        var rng = new SplitMix64(7);
        for (var i = 0; i < 1000; i++)
        {
            Assert.InRange(rng.NextBelow(10), 0UL, 9UL);
            Assert.InRange(rng.MultiplyShift(3), 0UL, 2UL);
            Assert.InRange(rng.NextDouble(), 0.0, 1.0 - double.Epsilon);
        }
        Assert.NotEqual(SplitMix64.Derive(1, 2), SplitMix64.Derive(2, 1));
    }
}
