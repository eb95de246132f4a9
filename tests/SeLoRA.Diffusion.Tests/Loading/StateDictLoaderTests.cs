using SeLoRA.Torch.Safetensors;
using SeLoRA.Diffusion.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Loading;

public sealed class StateDictLoaderTests
{
    static string SaveNet(TempFolder folder, TinyNet net, SaveOptions? options = null) =>
        ComponentWeights.Save(folder.Path, "{\"_class_name\": \"TinyNet\"}", net, options);

    static Dictionary<string, Tensor> Cloned(nn.Module m) => m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    [Fact]
    public void Round_trip_save_then_load_is_exact_and_keeps_requires_grad()
    {
        using var folder = new TempFolder();
        using var source = new TinyNet(1);
        var path = SaveNet(folder, source);
        Assert.EndsWith("diffusion_pytorch_model.safetensors", path);
        var keys = SafetensorsFile.ReadHeader(path).Entries.Select(e => e.Name).Order().ToList();
        // The non-persistent buffer "scratch" is not saved.
        Assert.Equal(new[] { "conv.bias", "conv.weight", "lin.bias", "lin.weight", "norm.bias", "norm.weight", "step_ids" }, keys);

        using var target = new TinyNet(2);
        target.lin.get_parameter("weight")!.requires_grad = false;
        var report = ComponentWeights.LoadInto(folder.Path, target);
        Assert.True(report.IsExact);
        Assert.Equal(7, report.Loaded.Count);

        var expected = source.state_dict();
        foreach (var (k, v) in target.state_dict()) TensorAssert.Equal(expected[k], v, k);
        Assert.False(target.lin.get_parameter("weight")!.requires_grad);
        Assert.True(target.lin.get_parameter("bias")!.requires_grad);
        Assert.Equal(ScalarType.Int64, target.step_ids.dtype);
    }

    [Fact]
    public void Renamed_key_names_the_missing_and_the_unexpected_key()
    {
        using var net = new TinyNet(1);
        var tensors = Cloned(net);
        tensors["lin.weights"] = tensors["lin.weight"];
        tensors.Remove("lin.weight");
        var e = Assert.Throws<StateDictMismatchException>(() => StateDictLoader.Load(net, tensors, source: "renamed.safetensors"));
        Assert.Contains("renamed.safetensors", e.Message);
        Assert.Contains("missing key(s) (in the module, not in the file): lin.weight", e.Message);
        Assert.Contains("unexpected key(s) (in the file, not in the module): lin.weights", e.Message);
        Assert.Equal(["lin.weight"], e.Report.Missing);
        Assert.Equal(["lin.weights"], e.Report.Unexpected);
    }

    [Fact]
    public void Missing_tensors_are_all_listed_and_non_strict_reports_them()
    {
        using var net = new TinyNet(1);
        var tensors = Cloned(net);
        tensors.Remove("conv.bias");
        tensors.Remove("norm.weight");
        var e = Assert.Throws<StateDictMismatchException>(() => StateDictLoader.Load(net, tensors));
        Assert.Contains("2 missing key(s) (in the module, not in the file): conv.bias, norm.weight", e.Message);

        using var other = new TinyNet(5);
        var before = other.norm.weight!.detach().clone();
        var report = StateDictLoader.Load(other, tensors, LoadOptions.Default with { Strict = false });
        Assert.Equal(["conv.bias", "norm.weight"], report.Missing);
        Assert.Empty(report.Unexpected);
        TensorAssert.Equal(before, other.norm.weight!, "untouched norm.weight");
        TensorAssert.Equal(tensors["lin.weight"], other.lin.get_parameter("weight")!, "lin.weight");
    }

    [Fact]
    public void Extra_tensor_is_named_and_non_strict_reports_it()
    {
        using var net = new TinyNet(1);
        var tensors = Cloned(net);
        tensors["head.weight"] = torch.ones(2);
        var e = Assert.Throws<StateDictMismatchException>(() => StateDictLoader.Load(net, tensors));
        Assert.Contains("1 unexpected key(s) (in the file, not in the module): head.weight", e.Message);
        Assert.DoesNotContain("missing", e.Message);

        var report = StateDictLoader.Load(net, tensors, LoadOptions.Default with { Strict = false });
        Assert.Equal(["head.weight"], report.Unexpected);
    }

    [Fact]
    public void Wrong_shape_names_the_key_and_both_shapes_even_when_not_strict()
    {
        using var net = new TinyNet(1);
        var tensors = Cloned(net);
        tensors["lin.weight"] = torch.zeros(4, 3);
        var e = Assert.Throws<StateDictMismatchException>(() => StateDictLoader.Load(net, tensors));
        Assert.Contains("'lin.weight': file [4, 3] vs module [3, 4]", e.Message);
        e = Assert.Throws<StateDictMismatchException>(() => StateDictLoader.Load(net, tensors, LoadOptions.Default with { Strict = false }));
        Assert.Contains("'lin.weight': file [4, 3] vs module [3, 4]", e.Message);
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void Half_precision_files_upcast_to_float32_or_keep_their_dtype(ScalarType stored)
    {
        using var folder = new TempFolder();
        using var source = new TinyNet(1);
        var path = SaveNet(folder, source, new SaveOptions { Variant = "half", FloatDType = stored });
        Assert.All(SafetensorsFile.ReadHeader(path).Entries,
            e => Assert.Equal(e.Name == "step_ids" ? ScalarType.Int64 : stored, e.DType));

        var rounded = source.state_dict().ToDictionary(kv => kv.Key,
            kv => kv.Value.is_floating_point() ? kv.Value.detach().to(stored).to(ScalarType.Float32) : kv.Value);

        using var upcast = new TinyNet(2);
        ComponentWeights.LoadInto(folder.Path, upcast, new LoadOptions { Variant = "half" });
        foreach (var (k, v) in upcast.state_dict()) TensorAssert.Equal(rounded[k], v, k);

        var dict = ComponentWeights.LoadStateDict(folder.Path, new LoadOptions { Variant = "half" });
        foreach (var (k, v) in dict) TensorAssert.Equal(rounded[k], v, k);

        var keep = new LoadOptions { Variant = "half", FloatStorage = FloatStorage.KeepStored };
        var storedDict = ComponentWeights.LoadStateDict(folder.Path, keep);
        Assert.Equal(stored, storedDict["lin.weight"].dtype);

        using var kept = new TinyNet(3);
        kept.conv.get_parameter("bias")!.requires_grad = false;
        ComponentWeights.LoadInto(folder.Path, kept, keep);
        foreach (var (k, v) in kept.state_dict())
        {
            Assert.Equal(k == "step_ids" ? ScalarType.Int64 : stored, v.dtype);
            TensorAssert.Equal(rounded[k], v.is_floating_point() ? v.to(ScalarType.Float32) : v, k);
        }
        Assert.False(kept.conv.get_parameter("bias")!.requires_grad);
        Assert.True(kept.conv.get_parameter("weight")!.requires_grad);
        // The module's forward runs on the converted weights.
        using var y = kept.call(torch.ones(2, 4, dtype: stored));
        Assert.Equal(stored, y.dtype);
        TensorAssert.Dispose(dict.Values.Concat(storedDict.Values));
    }

    [Fact]
    public void Keep_module_leaves_a_converted_module_in_its_dtype()
    {
        using var folder = new TempFolder();
        using var source = new TinyNet(1);
        SaveNet(folder, source);
        using var net = new TinyNet(2);
        net.to(ScalarType.Float16);
        ComponentWeights.LoadInto(folder.Path, net, new LoadOptions { FloatStorage = FloatStorage.KeepModule });
        var expected = source.state_dict();
        foreach (var (k, v) in net.state_dict())
            TensorAssert.Equal(v.is_floating_point() ? expected[k].to(ScalarType.Float16) : expected[k], v, k);

        // The default policy makes it float32 again.
        ComponentWeights.LoadInto(folder.Path, net);
        foreach (var (k, v) in net.state_dict()) TensorAssert.Equal(expected[k], v, k);
    }

    [Fact]
    public void Frozen_parameters_can_be_stored_as_bfloat16()
    {
        using var folder = new TempFolder();
        using var source = new TinyNet(1);
        SaveNet(folder, source);
        using var net = new TinyNet(2);
        foreach (var (_, p) in net.lin.named_parameters()) p.requires_grad = false;
        net.norm.weight!.requires_grad = false; // norm.bias stays trainable, so norm stays float32
        var report = ComponentWeights.LoadInto(folder.Path, net, new LoadOptions { FloatStorage = FloatStorage.FrozenBFloat16 });

        Assert.Equal(ScalarType.BFloat16, net.lin.get_parameter("weight")!.dtype);
        Assert.Equal(ScalarType.BFloat16, net.lin.get_parameter("bias")!.dtype);
        Assert.False(net.lin.get_parameter("weight")!.requires_grad);
        Assert.Equal(ScalarType.Float32, net.conv.get_parameter("weight")!.dtype);
        Assert.Equal(ScalarType.Int64, net.step_ids.dtype);
        Assert.Equal(["norm.weight"], report.NotConverted);
        Assert.Equal(ScalarType.Float32, net.norm.weight!.dtype);
        TensorAssert.Equal(source.lin.get_parameter("weight")!.detach().to(ScalarType.BFloat16), net.lin.get_parameter("weight")!, "lin.weight");
    }

    [Fact]
    public void Position_ids_in_a_file_are_ignored_when_the_module_has_none_and_loaded_when_it_has()
    {
        using var net = new TinyNet(1);
        var tensors = Cloned(net);
        tensors["text_model.embeddings.position_ids"] = torch.arange(77L).unsqueeze(0);
        var report = StateDictLoader.Load(net, tensors);
        Assert.Equal(["text_model.embeddings.position_ids"], report.Ignored);

        var strictNoRemap = new LoadOptions { KeyRemappers = [] };
        var e = Assert.Throws<StateDictMismatchException>(() => StateDictLoader.Load(net, tensors, strictNoRemap));
        Assert.Contains("text_model.embeddings.position_ids", e.Message);

        // A module that does keep the buffer gets it loaded, not dropped.
        tensors.Remove("text_model.embeddings.position_ids");
        tensors["step_ids"] = torch.arange(5L) * 9;
        var withIds = new LoadOptions { KeyRemappers = [new IgnoredBufferKeys("step_ids")] };
        report = StateDictLoader.Load(net, tensors, withIds);
        Assert.Empty(report.Ignored);
        TensorAssert.Equal(torch.arange(5L) * 9, net.step_ids, "step_ids");
    }

    [Fact]
    public void A_function_remapper_renames_and_drops_before_matching()
    {
        using var net = new TinyNet(1);
        var tensors = Cloned(net).ToDictionary(kv => "model." + kv.Key, kv => kv.Value);
        tensors["model.ema_decay"] = torch.tensor(0.999f);
        var options = new LoadOptions { KeyRemappers = [new KeyRemapper(k => k == "model.ema_decay" ? null : k["model.".Length..])] };
        using var target = new TinyNet(2);
        var report = StateDictLoader.Load(target, tensors, options);
        Assert.True(report.IsExact);
        Assert.Equal(["model.ema_decay"], report.Ignored);
        TensorAssert.Equal(tensors["model.conv.weight"], target.conv.get_parameter("weight")!, "conv.weight");
    }

    [Fact]
    public void Legacy_vae_attention_names_and_conv_shaped_weights_load_into_current_names()
    {
        using var module = new VaeMidLike(4);
        torch.manual_seed(11);
        var legacy = new Dictionary<string, Tensor>
        {
            ["mid_block.attentions.0.group_norm.weight"] = torch.randn(4),
            ["mid_block.attentions.0.group_norm.bias"] = torch.randn(4),
            ["mid_block.attentions.0.query.weight"] = torch.randn(4, 4, 1, 1),
            ["mid_block.attentions.0.query.bias"] = torch.randn(4),
            ["mid_block.attentions.0.key.weight"] = torch.randn(4, 4),
            ["mid_block.attentions.0.key.bias"] = torch.randn(4),
            ["mid_block.attentions.0.value.weight"] = torch.randn(4, 4),
            ["mid_block.attentions.0.value.bias"] = torch.randn(4),
            ["mid_block.attentions.0.proj_attn.weight"] = torch.randn(4, 4, 1, 1),
            ["mid_block.attentions.0.proj_attn.bias"] = torch.randn(4),
        };
        var report = StateDictLoader.Load(module, legacy);
        Assert.True(report.IsExact);
        var state = module.state_dict();
        TensorAssert.Equal(legacy["mid_block.attentions.0.query.weight"].reshape(4, 4), state["mid_block.attentions.0.to_q.weight"]);
        TensorAssert.Equal(legacy["mid_block.attentions.0.proj_attn.weight"].reshape(4, 4), state["mid_block.attentions.0.to_out.0.weight"]);
        TensorAssert.Equal(legacy["mid_block.attentions.0.value.bias"], state["mid_block.attentions.0.to_v.bias"]);
        TensorAssert.Equal(legacy["mid_block.attentions.0.group_norm.weight"], state["mid_block.attentions.0.group_norm.weight"]);
        // The caller's tensors are untouched and still usable.
        Assert.Equal(new long[] { 4, 4, 1, 1 }, legacy["mid_block.attentions.0.query.weight"].shape);
        TensorAssert.Dispose(legacy.Values);
    }
}
