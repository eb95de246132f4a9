using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Models.Clip;

public class ClipActivationTests
{
    [Fact]
    public void Quick_gelu_is_x_times_sigmoid_of_1_702_x()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var x = linspace(-8, 8, 161, dtype: float64);
        var actual = ClipActivation.Apply("quick_gelu", x).data<double>().ToArray();
        var inputs = x.data<double>().ToArray();
        for (var i = 0; i < inputs.Length; i++)
        {
            var expected = inputs[i] / (1 + Math.Exp(-1.702 * inputs[i]));
            Assert.Equal(expected, actual[i], 1e-12);
        }
    }

    [Fact]
    public void Gelu_is_the_exact_erf_form_and_gelu_new_the_tanh_form()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var x = tensor(new[] { -3.0, -1.0, -0.25, 0.0, 0.5, 2.0 }, dtype: float64);
        var exact = ClipActivation.Apply("gelu", x);
        var expectedExact = x * 0.5 * (special.erf(x / Math.Sqrt(2)) + 1);
        Assert.True(allclose(exact, expectedExact, rtol: 1e-12, atol: 1e-12));

        var approx = ClipActivation.Apply("gelu_new", x).data<double>().ToArray();
        var inputs = x.data<double>().ToArray();
        for (var i = 0; i < inputs.Length; i++)
        {
            var v = inputs[i];
            Assert.Equal(0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))), approx[i], 1e-12);
        }

        Assert.Throws<ArgumentException>(() => ClipActivation.Apply("relu6", x));
    }
}
