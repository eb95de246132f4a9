using SeLoRA.Torch.Nn;
using static TorchSharp.torch;

namespace SeLoRA.Torch.Tests.Nn;

public class GroupNormTests
{
    [Theory]
    [InlineData(32, 320)]
    [InlineData(2, 4)]
    [InlineData(1, 7)]
    public void A_fresh_GroupNorm_has_weight_one_and_bias_zero(int groups, int channels)
    {
        TorchRuntime.EnsureLoaded();
        // Fill the allocator with NaN first: TorchSharp's defect leaves whatever memory it gets.
        for (var i = 0; i < 8; i++) full(channels, float.NaN).Dispose();
        using var norm = NormLayers.GroupNorm(groups, channels);
        Assert.Equal(new long[] { channels }, norm.weight!.shape);
        Assert.True(norm.weight.eq(1.0f).all().item<bool>(), "weight must be all ones");
        Assert.True(norm.bias!.eq(0.0f).all().item<bool>(), "bias must be all zeros");
        Assert.True(norm.weight.requires_grad);
    }

    [Fact]
    public void Forward_matches_the_group_normalisation_formula()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var x = randn(new long[] { 2, 6, 3, 3 }, generator: generator, dtype: float64);
        using var norm = NormLayers.GroupNorm(3, 6, eps: 1e-5, dtype: float64);
        var y = norm.forward(x);

        // Hand formula: each (sample, group) of 2 channels x 9 pixels normalised by its own mean and biased variance.
        var groups = x.reshape(2, 3, 18);
        var mean = groups.mean(new long[] { 2 }, keepdim: true);
        var variance = (groups - mean).pow(2).mean(new long[] { 2 }, keepdim: true);
        var expected = ((groups - mean) / (variance + 1e-5).sqrt()).reshape(2, 6, 3, 3);
        Assert.True(allclose(y, expected, rtol: 1e-10, atol: 1e-10));
    }

    [Fact]
    public void Channels_that_do_not_split_into_groups_are_rejected_with_both_numbers()
    {
        var error = Assert.Throws<ArgumentException>(() => NormLayers.GroupNorm(32, 100));
        Assert.Contains("100", error.Message);
        Assert.Contains("32", error.Message);
    }
}
