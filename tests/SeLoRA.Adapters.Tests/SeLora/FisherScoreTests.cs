using SeLoRA.Adapters.SeLora;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Tests.SeLora;

public sealed class FisherScoreTests
{
    // A tiny layer with known numbers: in 3, out 2, rank 1, two samples, MSE (mean) loss, s = alpha / r0 = 8.
    static readonly double[,] W0 = { { 0.2, -0.1, 0.4 }, { -0.3, 0.5, 0.1 } };
    static readonly double[] B0 = { 0.05, -0.02 };
    static readonly double[] A = { 0.5, -1.0, 2.0 };
    static readonly double[] B = { 0.3, -0.2 };
    static readonly double[,] X = { { 1.0, 2.0, -1.0 }, { 0.5, 0.0, 3.0 } };
    static readonly double[,] T = { { 0.1, -0.4 }, { 2.0, 1.0 } };
    const double S = 8;

    public FisherScoreTests() => TorchRuntime.EnsureLoaded();

    static SeLoraLinear MakeLayer()
    {
        var linear = nn.Linear(3, 2);
        using (no_grad())
        {
            linear.weight!.copy_(tensor(Flat(W0), 2, 3));
            linear.bias!.copy_(tensor(B0.Select(v => (float)v).ToArray()));
        }
        var layer = new SeLoraLinear("fc", 0, linear, new SeLoraConfig { Seed = 9 });
        using (no_grad())
        {
            layer.A.copy_(tensor(A.Select(v => (float)v).ToArray(), 1, 3));
            layer.B.copy_(tensor(B.Select(v => (float)v).ToArray(), 2, 1));
        }
        return layer;
    }

    static float[] Flat(double[,] m) => m.Cast<double>().Select(v => (float)v).ToArray();

    static void Backward(SeLoraLinear layer)
    {
        using var scope = NewDisposeScope();
        var x = tensor(Flat(X), 2, 3);
        var t = tensor(Flat(T), 2, 2);
        nn.functional.mse_loss(layer.call(x), t).backward();
    }

    /// <summary>dL/dA, dL/dB and dL/db_new for L = mean((y - t)^2), by hand.</summary>
    static (double[] dA, double[] dB, double[] dBnew) HandGradients(double[] k)
    {
        var n = X.GetLength(0);
        var dA = new double[3];
        var dB = new double[2];
        var dBnew = new double[2];
        for (var s = 0; s < n; s++)
        {
            var u = 0.0; // A x
            var v = 0.0; // k x
            for (var i = 0; i < 3; i++) { u += A[i] * X[s, i]; v += k[i] * X[s, i]; }
            var g = new double[2];
            for (var o = 0; o < 2; o++)
            {
                var y = B0[o] + S * B[o] * u;
                for (var i = 0; i < 3; i++) y += W0[o, i] * X[s, i];
                g[o] = 2 * (y - T[s, o]) / (n * 2); // d mean / d y
                dB[o] += S * g[o] * u;
                dBnew[o] += S * g[o] * v;
            }
            var gb = g[0] * B[0] + g[1] * B[1];
            for (var i = 0; i < 3; i++) dA[i] += S * gb * X[s, i];
        }
        return (dA, dB, dBnew);
    }

    static double SumSq(IEnumerable<double> v) => v.Sum(e => e * e);

    [Fact]
    public void Score_is_the_hand_computed_sum_of_squared_gradients()
    {
        using var layer = MakeLayer();
        var k = layer.TrialRow.data<float>().Select(v => (double)v).ToArray();
        var (dA, dB, dBnew) = HandGradients(k);
        var expectedOriginal = SumSq(dA) + SumSq(dB);
        var expectedNew = SumSq(dBnew);
        Assert.True(expectedOriginal > 1 && expectedNew > 0.01, "the example should have sizeable gradients");

        Backward(layer);
        var original = layer.OriginalScore();
        Assert.Equal(expectedOriginal, original, expectedOriginal * 1e-5);
        Assert.Equal(expectedOriginal, FisherScore.Of(layer.A.grad, layer.B.grad), expectedOriginal * 1e-5);

        // Faithful trial at the same weights: FI_exp - FI_orig = ||dL/db_new||^2; the trial row's own gradient is 0.
        layer.BeginTrial();
        Backward(layer);
        var trial = layer.TrialScore();
        var (gradA, gradB) = layer.TrialGradients();
        Assert.Equal(expectedNew, trial - original, expectedOriginal * 1e-5);
        Assert.Equal(0f, gradA!.narrow(0, 1, 1).abs().max().item<float>());
        Assert.True(TestTensors.MaxAbsDiff(gradA.narrow(0, 0, 1), layer.A.grad!) < 1e-5);
        Assert.True(TestTensors.MaxAbsDiff(gradB!.narrow(1, 0, 1), layer.B.grad!) < 1e-5);
        Assert.Equal(dBnew[0], gradB[0, 1].item<float>(), Math.Abs(dBnew[0]) * 1e-6);
        layer.EndTrial();

        // Fast mode (one pass): the probe column's gradient is dL/db_new.
        layer.A.grad = null;
        layer.B.grad = null;
        layer.BeginProbe();
        Backward(layer);
        var probe = layer.ProbeScore();
        Assert.Equal(expectedNew, probe, expectedNew * 1e-5);
        Assert.Equal(original, layer.OriginalScore(), original * 1e-6);
        Assert.Equal(trial, layer.OriginalScore() + probe, trial * 1e-6);
        layer.EndProbe();
    }

    [Fact]
    public void Fast_score_equals_the_faithful_score_at_the_same_weights_on_a_model()
    {
        manual_seed(12);
        using var model = new ParallelLinears(3, 7, 5);
        var layers = SeLoRA.Adapters.Injection.AdapterInjector.Inject(model, _ => true, s => new SeLoraLinear(s.Name, s.Index, s.Layer, new SeLoraConfig()));
        foreach (var l in layers) { TestTensors.NonZero(l.A, 0.3); TestTensors.NonZero(l.B, 0.1); }
        using var x = randn(10, 7);
        using var target = randn(3, 10, 5);
        void Pass() { using var s = NewDisposeScope(); ParallelLinears.LossPerLayer(model.call(x), target).sum().backward(); }

        foreach (var l in layers) l.BeginProbe();
        Pass();
        var fast = layers.Select(l => l.OriginalScore() + l.ProbeScore()).ToArray();
        foreach (var l in layers) l.EndProbe();
        foreach (var l in layers) l.BeginTrial();
        Pass();
        var faithful = layers.Select(l => l.TrialScore()).ToArray();
        foreach (var l in layers) l.EndTrial();
        for (var i = 0; i < layers.Count; i++)
            Assert.True(Math.Abs(fast[i] - faithful[i]) <= 1e-5 * faithful[i], $"layer {i}: fast {fast[i]} vs faithful {faithful[i]}");
    }

    [Fact]
    public void Ratio_edge_cases_are_explicit()
    {
        Assert.True(double.IsNaN(FisherScore.Ratio(0, 0)));
        Assert.False(FisherScore.ShouldExpand(0, 0, 1.0));
        Assert.Equal(double.PositiveInfinity, FisherScore.Ratio(1e-3, 0));
        Assert.True(FisherScore.ShouldExpand(1e-3, 0, 1e9));
        Assert.False(FisherScore.ShouldExpand(double.NaN, 1, 1));
        Assert.False(FisherScore.ShouldExpand(double.PositiveInfinity, 1, 1));
        Assert.Equal(1.5, FisherScore.Ratio(3, 2));
        Assert.True(FisherScore.ShouldExpand(1.3, 1.0, 1.3));
        Assert.False(FisherScore.ShouldExpand(1.29, 1.0, 1.3));
        Assert.Equal(14.0, FisherScore.Of(tensor(new float[] { 1, 2, 3 }), null));
    }
}
