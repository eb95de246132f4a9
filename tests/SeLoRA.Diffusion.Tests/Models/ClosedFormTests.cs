using System.Text.Json;
using SeLoRA.Diffusion.Models.Blocks;
using SeLoRA.TestSupport;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Models;

/// <summary>Primitives against formulas written out here, and the published timestep-embedding values.</summary>
public class ClosedFormTests
{
    public ClosedFormTests() => TorchRuntime.EnsureLoaded();

    /// <summary>emb[i, k] = cos(t_i f_k) for k &lt; half, sin(t_i f_(k-half)) after; f_k = exp(-ln(10000) k / (half - shift)).</summary>
    static double[,] SinusoidalFormula(double[] t, int dim, double shift)
    {
        var half = dim / 2;
        var emb = new double[t.Length, dim];
        for (var i = 0; i < t.Length; i++)
            for (var k = 0; k < half; k++)
            {
                var f = Math.Exp(-Math.Log(10000) * k / (half - shift));
                emb[i, k] = Math.Cos(t[i] * f);
                emb[i, half + k] = Math.Sin(t[i] * f);
            }
        return emb;
    }

    [Fact]
    public void Timestep_embedding_matches_the_formula_with_cos_first()
    {
        double[] t = [0, 1, 17, 500, 981, 999];
        using var timesteps = tensor(t.Select(v => (long)v).ToArray());
        using var proj = new Timesteps(320, flipSinToCos: true, downscaleFreqShift: 0);
        using var emb = proj.forward(timesteps);
        Assert.Equal([6L, 320L], emb.shape);
        Assert.Equal(ScalarType.Float32, emb.dtype);
        var expected = SinusoidalFormula(t, 320, 0);
        var actual = emb.to_type(ScalarType.Float64).data<double>().ToArray();
        var max = 0.0;
        for (var i = 0; i < t.Length; i++)
            for (var k = 0; k < 320; k++)
                max = Math.Max(max, Math.Abs(actual[i * 320 + k] - expected[i, k]));
        // float32 arguments up to ~1000 rad: the phase error is about 1000 * 6e-8.
        Assert.True(max < 2e-4, $"max |diff| {max}");
    }

    [Fact]
    public void Timestep_embedding_without_flip_puts_sin_first_and_shift_changes_the_frequencies()
    {
        using var timesteps = tensor(new[] { 3.0f, 40.0f });
        using var flipped = Timesteps.GetTimestepEmbedding(timesteps, 8, flipSinToCos: true, downscaleFreqShift: 1);
        using var plain = Timesteps.GetTimestepEmbedding(timesteps, 8, flipSinToCos: false, downscaleFreqShift: 1);
        using var swapped = cat([plain[.., 4..], plain[.., ..4]], 1);
        Assert.True(flipped.allclose(swapped));
        var expected = SinusoidalFormula([3, 40], 8, 1);
        var row = plain[1].data<float>().ToArray();
        for (var k = 0; k < 4; k++)
        {
            Assert.Equal(expected[1, 4 + k], row[k], 5);  // sin
            Assert.Equal(expected[1, k], row[4 + k], 5);  // cos
        }
        using var odd = Timesteps.GetTimestepEmbedding(timesteps, 9, flipSinToCos: true, downscaleFreqShift: 0);
        Assert.Equal([2L, 9L], odd.shape);
        Assert.Equal(0f, odd[0, 8].item<float>());
    }

    [Fact]
    public void Timestep_embedding_matches_the_published_and_recorded_values()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(
            RepoPaths.RequireShared("fixtures/scheduler-vectors/scheduler_vectors.json")));
        var vectors = doc.RootElement.GetProperty("timestep_embedding");
        double[] Values(string name) => vectors.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();

        // diffusers test_sinoid_embeddings_hardcoded "t2": get_timestep_embedding(arange(128), 64, True, 0)[23:26, 47:50].
        using var steps = arange(128);
        using var emb = Timesteps.GetTimestepEmbedding(steps, 64, flipSinToCos: true, downscaleFreqShift: 0);
        var slice = emb[23..26, 47..50].flatten().data<float>().ToArray();
        var published = Values("published_t2_23_26_47_50");
        var computed = Values("computed_t2_23_26_47_50");
        for (var i = 0; i < 9; i++)
        {
            Assert.True(Math.Abs(slice[i] - published[i]) <= 1e-3, $"t2[{i}] = {slice[i]}, published {published[i]}");
            Assert.True(Math.Abs(slice[i] - computed[i]) <= 1e-6, $"t2[{i}] = {slice[i]}, diffusers {computed[i]}");
        }

        // SD's own setting: dim 320 at t = 981. Phases reach ~981 rad, where one float32 ulp of a frequency (libtorch's
        // exp differs from torch 1.13's by an ulp here and there) moves the result by up to ~6e-5.
        using var sd = new Timesteps(320, true, 0).forward(tensor(new long[] { 981 }));
        var first = sd[0, ..8].data<float>().ToArray();
        var middle = sd[0, 160..168].data<float>().ToArray();
        var expectedFirst = Values("sd_dim320_t981_first8");
        var expectedMiddle = Values("sd_dim320_t981_160_168");
        for (var i = 0; i < 8; i++)
        {
            Assert.True(Math.Abs(first[i] - expectedFirst[i]) <= 1e-4, $"emb[{i}] = {first[i]}, diffusers {expectedFirst[i]}");
            Assert.True(Math.Abs(middle[i] - expectedMiddle[i]) <= 1e-4, $"emb[{160 + i}] = {middle[i]}, diffusers {expectedMiddle[i]}");
        }
    }

    /// <summary>Attention written out head by head with an explicit softmax.</summary>
    static Tensor NaiveAttention(Dictionary<string, Tensor> w, Tensor x, Tensor context, int heads, double scale)
    {
        Tensor Lin(Tensor input, string name) =>
            w.TryGetValue(name + ".bias", out var b)
                ? matmul(input, w[name + ".weight"].t()) + b
                : matmul(input, w[name + ".weight"].t());
        var q = Lin(x, "to_q");
        var k = Lin(context, "to_k");
        var v = Lin(context, "to_v");
        var d = (int)(q.shape[^1] / heads);
        var outs = new List<Tensor>();
        for (var h = 0; h < heads; h++)
        {
            var qh = q[.., .., (h * d)..((h + 1) * d)];
            var kh = k[.., .., (h * d)..((h + 1) * d)];
            var vh = v[.., .., (h * d)..((h + 1) * d)];
            var scores = matmul(qh, kh.transpose(1, 2)) * scale;
            var e = (scores - scores.amax([-1], keepdim: true)).exp();
            outs.Add(matmul(e / e.sum(-1, keepdim: true), vh));
        }
        return Lin(cat(outs, -1), "to_out.0");
    }

    [Theory]
    [InlineData(true)]   // default scale: the fused kernel
    [InlineData(false)]  // scale 1: the explicit path
    public void Cross_attention_equals_a_naive_softmax(bool scaleQk)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var attn = new Attention(queryDim: 64, crossAttentionDim: 48, heads: 4, dimHead: 16, scaleQk: scaleQk);
        attn.eval();
        var x = randn(2, 10, 64);
        var context = randn(2, 7, 48);
        var actual = attn.forward(x, context);
        var expected = NaiveAttention(attn.state_dict(), x, context, 4, scaleQk ? 0.25 : 1.0);
        TensorFixtures.AssertClose(actual, expected, 1e-5, "cross-attention");
        Assert.DoesNotContain("to_q.bias", attn.state_dict().Keys);
        Assert.Equal([2L, 10L, 64L], actual.shape);
    }

    [Fact]
    public void Null_context_is_self_attention_on_the_input()
    {
        using var scope = NewDisposeScope();
        manual_seed(12);
        var attn = new Attention(queryDim: 32, heads: 2, dimHead: 16);
        var x = randn(1, 9, 32);
        TensorFixtures.AssertClose(attn.forward(x, null), attn.forward(x, x), 0, "null context vs explicit self context");
        TensorFixtures.AssertClose(attn.forward(x, null), NaiveAttention(attn.state_dict(), x, x, 2, 0.25), 1e-5, "self-attention");
    }

    [Fact]
    public void Vae_attention_normalises_then_adds_the_residual_and_rescales()
    {
        using var scope = NewDisposeScope();
        manual_seed(13);
        var attn = new Attention(queryDim: 32, heads: 1, dimHead: 32, bias: true, upcastSoftmax: true, normNumGroups: 8,
            eps: 1e-6, rescaleOutputFactor: 2.0, residualConnection: true);
        var w = attn.state_dict();
        Assert.Equal(
            ["group_norm.bias", "group_norm.weight", "to_k.bias", "to_k.weight", "to_out.0.bias", "to_out.0.weight",
             "to_q.bias", "to_q.weight", "to_v.bias", "to_v.weight"],
            w.Keys.Order(StringComparer.Ordinal));
        using (no_grad())
        {
            w["group_norm.weight"].copy_(rand(32) + 0.5);
            w["group_norm.bias"].copy_(randn(32) * 0.3);
        }
        var x = randn(2, 32, 5, 6);
        var normed = nn.functional.group_norm(x, 8, w["group_norm.weight"], w["group_norm.bias"], 1e-6);
        var tokens = normed.flatten(2).transpose(1, 2);
        var attended = NaiveAttention(w, tokens, tokens, 1, Math.Pow(32, -0.5));
        var expected = (attended.transpose(1, 2).reshape(2, 32, 5, 6) + x) / 2.0;
        TensorFixtures.AssertClose(attn.forward(x, null), expected, 1e-5, "VAE attention");
    }

    [Fact]
    public void Geglu_is_value_times_gelu_of_gate_with_value_first()
    {
        using var scope = NewDisposeScope();
        manual_seed(14);
        var geglu = new GEGLU(6, 4);
        var w = geglu.state_dict();
        Assert.Equal([8L, 6L], w["proj.weight"].shape);
        var x = randn(3, 6);
        var projected = matmul(x, w["proj.weight"].t()) + w["proj.bias"];
        var value = projected[.., ..4];
        var gate = projected[.., 4..];
        var gelu = gate * 0.5 * (1 + special.erf(gate / Math.Sqrt(2)));
        TensorFixtures.AssertClose(geglu.forward(x), value * gelu, 1e-6, "GEGLU");
        // Swapping the halves must give something else, so the test sees the order.
        Assert.True(TensorFixtures.MaxAbsDiff(geglu.forward(x), gate * (value * 0.5 * (1 + special.erf(value / Math.Sqrt(2))))) > 1e-2);
    }

    [Fact]
    public void Feed_forward_keys_and_shapes_follow_diffusers()
    {
        using var ff = new FeedForward(320);
        var shapes = ff.state_dict().ToDictionary(kv => kv.Key, kv => string.Join(",", kv.Value.shape));
        Assert.Equal(new Dictionary<string, string>
        {
            ["net.0.proj.weight"] = "2560,320", ["net.0.proj.bias"] = "2560",
            ["net.2.weight"] = "320,1280", ["net.2.bias"] = "320",
        }, shapes);
    }
}
