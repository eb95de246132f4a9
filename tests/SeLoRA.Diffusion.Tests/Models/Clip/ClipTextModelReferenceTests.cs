using SeLoRA.Diffusion.Loading;
using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Models.Clip;

/// <summary>The tiny model against outputs computed with openai/CLIP's Transformer on the same weights.</summary>
public class ClipTextModelReferenceTests(ITestOutputHelper output)
{
    [Fact]
    public void Tiny_model_reproduces_the_stored_last_hidden_state()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var model = TinyClip.Load();
        var (ids, expected) = TinyClip.ReferenceIo();
        Assert.Equal(new long[] { 2, 77 }, ids.shape);
        Assert.Equal(new long[] { 998, 5, 17, 300, 42, 999, 999 }, ids[0, ..7].data<long>().ToArray());

        using var _ = no_grad();
        using var result = model.Forward(ids);
        var last = result.LastHiddenState;
        Assert.Equal(new long[] { 2, 77, 32 }, last.shape);
        var maxDiff = (last - expected).abs().max().item<float>();
        output.WriteLine($"max |last_hidden_state - reference| = {maxDiff:E3}");
        Assert.True(maxDiff < 1e-4, $"max difference {maxDiff}");

        // The README's published slice and summary numbers.
        var slice = new float[,]
        {
            { -0.563274f, 1.642965f, -0.657622f, -0.084789f },
            { -0.852901f, 0.148063f, -2.251662f, -0.298983f },
            { -1.130950f, 0.704637f, -4.150929f, -0.239454f },
        };
        for (var i = 0; i < 3; i++)
        for (var j = 0; j < 4; j++)
            Assert.Equal(slice[i, j], last[0, i, j].item<float>(), 1e-4f);
        Assert.Equal(2.606006, last.to(float64).sum().item<double>(), 1e-3);
        Assert.Equal(0.823553, last.to(float64).abs().mean().item<double>(), 1e-5);

        // The plain Module forward is the same last_hidden_state.
        var plain = model.call(ids);
        Assert.True(TinyClip.Identical(plain, last));
    }

    [Fact]
    public void Pooled_output_is_the_last_hidden_state_at_the_first_eos()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var model = TinyClip.Load();
        var (ids, expected) = TinyClip.ReferenceIo();
        using var _ = no_grad();
        using var result = model.Forward(ids);

        // eos 999 first appears at 5 in row 0 ([998, 5, 17, 300, 42, 999, ...]) and at 1 in row 1 (empty prompt).
        Assert.Equal(new long[] { 2, 32 }, result.PooledOutput.shape);
        Assert.True((result.PooledOutput[0] - expected[0, 5]).abs().max().item<float>() < 1e-4);
        Assert.True((result.PooledOutput[1] - expected[1, 1]).abs().max().item<float>() < 1e-4);
        Assert.True(TinyClip.Identical(result.PooledOutput[0], result.LastHiddenState[0, 5]));
        Assert.True(TinyClip.Identical(result.PooledOutput[1], result.LastHiddenState[1, 1]));
    }

    [Fact]
    public void Legacy_eos_id_2_pools_at_the_largest_id_and_other_ids_at_their_first_occurrence()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 998, 7, 3, 7, 999, 999, 500, 2, 1 }, dtype: ScalarType.Int64).view(1, -1);
        using var _ = no_grad();

        using (var legacy = TinyClip.Load(TinyClip.Config with { EosTokenId = 2 }))
        using (var result = legacy.Forward(ids))
            Assert.True(TinyClip.Identical(result.PooledOutput[0], result.LastHiddenState[0, 4]), "argmax: the first 999, at 4 (not the id 2 at 7)");

        using (var seven = TinyClip.Load(TinyClip.Config with { EosTokenId = 7 }))
        using (var result = seven.Forward(ids))
            Assert.True(TinyClip.Identical(result.PooledOutput[0], result.LastHiddenState[0, 1]), "first 7 at position 1");
    }

    [Fact]
    public void Hidden_states_are_the_embeddings_and_each_layer_before_the_final_norm()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var model = TinyClip.Load();
        var (ids, _) = TinyClip.ReferenceIo();
        using var noGrad = no_grad();
        using var result = model.Forward(ids, outputHiddenStates: true);

        Assert.NotNull(result.HiddenStates);
        Assert.Equal(4, result.HiddenStates.Count);
        Assert.True(TinyClip.Identical(result.HiddenStates[0], model.TextModel.Embeddings.call(ids)));
        var normed = model.TextModel.FinalLayerNorm.call(result.HiddenStates[^1]);
        Assert.True(TinyClip.Identical(normed, result.LastHiddenState));

        using var plain = model.Forward(ids);
        Assert.Null(plain.HiddenStates);
        Assert.True(TinyClip.Identical(plain.LastHiddenState, result.LastHiddenState));
    }

    [Fact]
    public void Causal_mask_keeps_each_position_independent_of_later_tokens()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var model = TinyClip.Load();
        var (ids, _) = TinyClip.ReferenceIo();
        using var _ = no_grad();
        var changed = ids.clone();
        changed[0, 3] = tensor(123L);   // row 0: token 300 at position 3 becomes 123

        var before = model.call(ids);
        var after = model.call(changed);
        Assert.True(TinyClip.Identical(after[0, ..3], before[0, ..3]), "positions 0-2 must not see position 3");
        Assert.True((after[0, 3..] - before[0, 3..]).abs().amax(-1).gt(1e-3).all().item<bool>(), "positions 3.. must change");
        Assert.True(TinyClip.Identical(after[1], before[1]), "the other row is untouched");
    }

    [Fact]
    public void Padding_attention_mask_hides_masked_keys_and_all_ones_changes_nothing()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var model = TinyClip.Load();
        var (ids, _) = TinyClip.ReferenceIo();
        using var _ = no_grad();
        var row = ids[..1];

        using var plain = model.Forward(row);
        using var allOnes = model.Forward(row, ones_like(row));
        Assert.True((allOnes.LastHiddenState - plain.LastHiddenState).abs().max().item<float>() < 1e-6);

        // Hiding key 1 from everyone: position 2's output then depends only on tokens 0 and 2, so changing token 1
        // leaves it unchanged, although without the mask it would change.
        var mask = ones_like(row);
        mask[0, 1] = tensor(0L);
        var other = row.clone();
        other[0, 1] = tensor(600L);
        using var masked = model.Forward(row, mask);
        using var maskedOther = model.Forward(other, mask);
        Assert.True((masked.LastHiddenState[0, 2] - maskedOther.LastHiddenState[0, 2]).abs().max().item<float>() < 1e-5);
        using var unmaskedOther = model.Forward(other);
        Assert.True((plain.LastHiddenState[0, 2] - unmaskedOther.LastHiddenState[0, 2]).abs().max().item<float>() > 1e-3);

        // A row whose only visible key is masked stays finite (transformers' lowest-value fill, not -inf).
        var first = ones_like(row);
        first[0, 0] = tensor(0L);
        using var hidden = model.Forward(row, first);
        Assert.False(hidden.LastHiddenState.isnan().any().item<bool>());
    }

    [Fact]
    public void Loading_is_strict_but_accepts_the_stored_position_ids()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var path = Path.Combine(TinyClip.RequireFolder(), "model.safetensors");
        var weights = TorchSharp.PyBridge.Safetensors.LoadStateDict(path);
        Assert.Contains(ClipTextModel.PositionIdsKey, weights.Keys);
        using var model = new ClipTextModel(TinyClip.Config);
        var report = StateDictLoader.Load(model, weights, source: path);
        Assert.Contains(ClipTextModel.PositionIdsKey, report.Ignored);
        foreach (var (key, parameter) in model.state_dict())
            Assert.True(TinyClip.Identical(parameter, weights[key]), key);

        var missing = new Dictionary<string, Tensor>(weights);
        missing.Remove("text_model.encoder.layers.1.layer_norm2.bias");
        var error = Assert.Throws<StateDictMismatchException>(() => StateDictLoader.Load(model, missing, source: "missing.safetensors"));
        Assert.Contains("text_model.encoder.layers.1.layer_norm2.bias", error.Message);
        Assert.Contains("missing.safetensors", error.Message);

        var extra = new Dictionary<string, Tensor>(weights) { ["text_model.text_projection.weight"] = zeros(32, 32) };
        error = Assert.Throws<StateDictMismatchException>(() => StateDictLoader.Load(model, extra));
        Assert.Contains("text_model.text_projection.weight", error.Report.Unexpected);

        var wrongShape = new Dictionary<string, Tensor>(weights) { ["text_model.final_layer_norm.weight"] = zeros(33) };
        error = Assert.Throws<StateDictMismatchException>(() => StateDictLoader.Load(model, wrongShape));
        Assert.Contains("text_model.final_layer_norm.weight", error.Message);
        Assert.Contains("[33]", error.Message);
    }

    [Fact]
    public void Moving_to_float64_keeps_the_keys_and_the_numbers()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var model = TinyClip.Load();
        var keys = model.state_dict().Keys.ToList();
        model.to(float64);
        Assert.Equal(keys, model.state_dict().Keys.ToList());
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));

        var (ids, expected) = TinyClip.ReferenceIo();
        using var _ = no_grad();
        var last = model.call(ids);
        Assert.Equal(ScalarType.Float64, last.dtype);
        Assert.True((last - expected.to(float64)).abs().max().item<double>() < 1e-4);
    }

    [Fact]
    public void Gradients_reach_every_parameter_but_the_unused_embedding_rows()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var model = TinyClip.Load();
        model.train();
        var (ids, _) = TinyClip.ReferenceIo();
        using var result = model.Forward(ids);
        (result.LastHiddenState.pow(2).mean() + result.PooledOutput.sum()).backward();
        foreach (var (name, parameter) in model.named_parameters())
        {
            Assert.NotNull(parameter.grad);
            Assert.True(parameter.grad.abs().sum().item<float>() > 0, $"{name} got no gradient");
        }
    }
}
