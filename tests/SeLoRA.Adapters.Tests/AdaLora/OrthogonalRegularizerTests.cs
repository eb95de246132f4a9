using SeLoRA.Adapters.AdaLora;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.AdaLora;

public sealed class OrthogonalRegularizerTests
{
    public OrthogonalRegularizerTests() => TorchRuntime.EnsureLoaded();

    [Fact]
    public void Matches_a_hand_computation_on_tiny_matrices()
    {
        var config = new AdaLoraConfig { InitR = 4, TargetR = 1, TotalStep = 10 };
        using var first = new AdaLoraLinear("a", 0, nn.Linear(3, 2), config, rank: 2);
        using var second = new AdaLoraLinear("b", 1, nn.Linear(3, 2), config, rank: 1);
        using (no_grad())
        {
            first.A.copy_(tensor(new float[] { 1, 0, 2, 0, 1, 1 }).reshape(2, 3));
            first.B.copy_(tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2));
            second.A.copy_(tensor(new float[] { 0.6f, 0.8f, 0 }).reshape(1, 3));
            second.B.copy_(tensor(new float[] { 2, 0 }).reshape(2, 1));
        }
        // A1 A1^T - I = [[4, 2], [2, 1]]           -> ||.||_F = 5
        // B1^T B1 - I = [[9, 14], [14, 19]]        -> sqrt(834)
        // A2 A2^T - I = [[0.6^2 + 0.8^2 - 1]] = 0  -> 0
        // B2^T B2 - I = [[3]]                      -> 3
        var expected = (5 + Math.Sqrt(834) + 0 + 3) / 4;
        using var r = OrthogonalRegularizer.Compute([first, second]);
        Assert.Equal(expected, r.item<float>(), 5);
        using var loss = OrthogonalRegularizer.Loss([first, second], 0.5);
        Assert.Equal(0.5 * expected, loss.item<float>(), 5);
        // 0.5 * mean over modules of the per-module sum: the same number.
        Assert.Equal(0.5 * ((5 + Math.Sqrt(834)) + (0 + 3)) / 2, expected, 12);

        loss.backward();
        // d/dB2 of 0.5 * (1/4) * |B2^T B2 - 1| = 0.125 * 2 B2 = [[0.5], [0]].
        Assert.Equal(0.5f, second.B.grad![0, 0].item<float>(), 5);
        Assert.Equal(0f, second.B.grad![1, 0].item<float>(), 5);
        // A2 A2^T = I exactly: the gradient there is finite (0), not NaN.
        Assert.False(second.A.grad!.isnan().any().item<bool>());
        Assert.Equal(0f, OrthogonalRegularizer.Compute([]).item<float>());
    }
}
