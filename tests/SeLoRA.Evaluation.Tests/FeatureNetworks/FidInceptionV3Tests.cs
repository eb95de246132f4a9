using SeLoRA.Evaluation.FeatureNetworks;
using SeLoRA.Torch.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Tests.FeatureNetworks;

public sealed class FidInceptionV3Tests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("fid-inception-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    // Shapes from torchvision's Inception3 (num_classes=1008, aux_logits=False) with pytorch-fid's FIDInception blocks:
    // what pt_inception-2015-12-05-6726825d.pth holds.
    static readonly (string Key, long[] Shape)[] UpstreamKeys =
    [
        ("Conv2d_1a_3x3.conv.weight", [32, 3, 3, 3]),
        ("Conv2d_1a_3x3.bn.weight", [32]),
        ("Conv2d_1a_3x3.bn.bias", [32]),
        ("Conv2d_1a_3x3.bn.running_mean", [32]),
        ("Conv2d_1a_3x3.bn.running_var", [32]),
        ("Conv2d_2a_3x3.conv.weight", [32, 32, 3, 3]),
        ("Conv2d_2b_3x3.conv.weight", [64, 32, 3, 3]),
        ("Conv2d_3b_1x1.conv.weight", [80, 64, 1, 1]),
        ("Conv2d_4a_3x3.conv.weight", [192, 80, 3, 3]),
        ("Conv2d_4a_3x3.bn.running_var", [192]),
        ("Mixed_5b.branch1x1.conv.weight", [64, 192, 1, 1]),
        ("Mixed_5b.branch5x5_1.conv.weight", [48, 192, 1, 1]),
        ("Mixed_5b.branch5x5_2.conv.weight", [64, 48, 5, 5]),
        ("Mixed_5b.branch3x3dbl_1.conv.weight", [64, 192, 1, 1]),
        ("Mixed_5b.branch3x3dbl_2.conv.weight", [96, 64, 3, 3]),
        ("Mixed_5b.branch3x3dbl_3.conv.weight", [96, 96, 3, 3]),
        ("Mixed_5b.branch_pool.conv.weight", [32, 192, 1, 1]),
        ("Mixed_5c.branch_pool.conv.weight", [64, 256, 1, 1]),
        ("Mixed_5d.branch1x1.conv.weight", [64, 288, 1, 1]),
        ("Mixed_5d.branch_pool.bn.bias", [64]),
        ("Mixed_6a.branch3x3.conv.weight", [384, 288, 3, 3]),
        ("Mixed_6a.branch3x3dbl_1.conv.weight", [64, 288, 1, 1]),
        ("Mixed_6a.branch3x3dbl_3.conv.weight", [96, 96, 3, 3]),
        ("Mixed_6b.branch1x1.conv.weight", [192, 768, 1, 1]),
        ("Mixed_6b.branch7x7_1.conv.weight", [128, 768, 1, 1]),
        ("Mixed_6b.branch7x7_2.conv.weight", [128, 128, 1, 7]),
        ("Mixed_6b.branch7x7_3.conv.weight", [192, 128, 7, 1]),
        ("Mixed_6b.branch7x7dbl_2.conv.weight", [128, 128, 7, 1]),
        ("Mixed_6c.branch7x7dbl_2.conv.weight", [160, 160, 7, 1]),
        ("Mixed_6d.branch7x7dbl_4.bn.running_mean", [160]),
        ("Mixed_6e.branch7x7dbl_3.conv.weight", [192, 192, 1, 7]),
        ("Mixed_6e.branch7x7dbl_5.conv.weight", [192, 192, 1, 7]),
        ("Mixed_6e.branch_pool.conv.weight", [192, 768, 1, 1]),
        ("Mixed_7a.branch3x3_1.conv.weight", [192, 768, 1, 1]),
        ("Mixed_7a.branch3x3_2.conv.weight", [320, 192, 3, 3]),
        ("Mixed_7a.branch7x7x3_2.conv.weight", [192, 192, 1, 7]),
        ("Mixed_7a.branch7x7x3_3.conv.weight", [192, 192, 7, 1]),
        ("Mixed_7a.branch7x7x3_4.conv.weight", [192, 192, 3, 3]),
        ("Mixed_7b.branch1x1.conv.weight", [320, 1280, 1, 1]),
        ("Mixed_7b.branch3x3_1.conv.weight", [384, 1280, 1, 1]),
        ("Mixed_7b.branch3x3_2a.conv.weight", [384, 384, 1, 3]),
        ("Mixed_7b.branch3x3_2b.conv.weight", [384, 384, 3, 1]),
        ("Mixed_7b.branch3x3dbl_1.conv.weight", [448, 1280, 1, 1]),
        ("Mixed_7b.branch3x3dbl_2.conv.weight", [384, 448, 3, 3]),
        ("Mixed_7b.branch3x3dbl_3a.conv.weight", [384, 384, 1, 3]),
        ("Mixed_7b.branch_pool.conv.weight", [192, 1280, 1, 1]),
        ("Mixed_7c.branch1x1.conv.weight", [320, 2048, 1, 1]),
        ("Mixed_7c.branch3x3dbl_3b.conv.weight", [384, 384, 3, 1]),
        ("Mixed_7c.branch3x3dbl_3b.bn.running_var", [384]),
        ("Mixed_7c.branch_pool.conv.weight", [192, 2048, 1, 1]),
        ("fc.weight", [1008, 2048]),
        ("fc.bias", [1008]),
    ];

    static readonly string[] Prefixes =
    [
        "Conv2d_1a_3x3.", "Conv2d_2a_3x3.", "Conv2d_2b_3x3.", "Conv2d_3b_1x1.", "Conv2d_4a_3x3.",
        "Mixed_5b.", "Mixed_5c.", "Mixed_5d.", "Mixed_6a.", "Mixed_6b.", "Mixed_6c.", "Mixed_6d.", "Mixed_6e.",
        "Mixed_7a.", "Mixed_7b.", "Mixed_7c.", "fc.",
    ];

    [Fact]
    public void State_dict_has_the_checkpoint_keys_and_shapes()
    {
        torch.manual_seed(1);
        using var model = new FidInceptionV3();
        var state = model.state_dict();
        foreach (var (key, shape) in UpstreamKeys)
        {
            Assert.True(state.ContainsKey(key), $"missing {key}");
            Assert.Equal(shape, state[key].shape);
        }
        Assert.All(state.Keys, k => Assert.Contains(Prefixes, p => k.StartsWith(p, StringComparison.Ordinal)));
        Assert.DoesNotContain(state.Keys, k => k.StartsWith("AuxLogits", StringComparison.Ordinal));

        // 94 BasicConv2d (stem 5, 3 x A 7, B 4, 4 x C 10, D 6, 2 x E 9): conv.weight, bn.weight, bn.bias each, plus fc.
        var parameters = model.named_parameters().ToList();
        Assert.Equal(94 * 3 + 2, parameters.Count);
        // torchvision's inception_v3 has 27,161,264 parameters (1000 classes, aux); less AuxLogits (3,326,696),
        // plus 8 more fc rows (8 x 2049) for the 1008-class checkpoint.
        Assert.Equal(23_850_960L, parameters.Sum(p => p.parameter.numel()));
        Assert.Equal(94, state.Keys.Count(k => k.EndsWith(".bn.running_mean", StringComparison.Ordinal)));
        Assert.Equal(94, state.Keys.Count(k => k.EndsWith(".bn.running_var", StringComparison.Ordinal)));
    }

    [Fact]
    public void BasicConv2d_uses_bias_free_conv_batchnorm_eps_0_001_and_relu()
    {
        using var block = new BasicConv2d(1, 1, 1);
        var state = block.state_dict();
        Assert.Equal(new[] { "bn.bias", "bn.num_batches_tracked", "bn.running_mean", "bn.running_var", "bn.weight", "conv.weight" },
            state.Keys.Order(StringComparer.Ordinal));
        using (no_grad())
        {
            state["conv.weight"].fill_(1.0);
            state["bn.running_var"].fill_(0.0);
        }
        block.eval();
        using var x = tensor(new float[] { 0.5f, -0.5f }).reshape(1, 1, 1, 2);
        using var y = block.forward(x);
        var values = y.data<float>().ToArray();
        Assert.Equal(0.5 / Math.Sqrt(0.001), values[0], 4);
        Assert.Equal(0f, values[1]);
    }

    [Fact]
    public void Features_of_small_images_are_finite_2048_vectors()
    {
        torch.manual_seed(2);
        using var model = new FidInceptionV3();
        IFeatureNetwork network = model;
        Assert.Equal(2048, network.Dimension);
        using var images = rand(2, 3, 64, 64, generator: new torch.Generator(3));
        using var features = network.Features(images);
        Assert.Equal(new long[] { 2, 2048 }, features.shape);
        Assert.Equal(ScalarType.Float32, features.dtype);
        Assert.True(features.isfinite().all().item<bool>());
        Assert.True(features.abs().max().item<float>() > 0f);
        // Different images, different features.
        Assert.False(Same(features[0], features[1]));
        // Features are computed in eval mode and leave the module as it was.
        Assert.True(model.training);
    }

    [Fact]
    public void Features_resize_and_scale_as_pytorch_fid()
    {
        torch.manual_seed(4);
        using var model = new FidInceptionV3();
        model.eval();
        using var images = rand(1, 3, 40, 50, generator: new torch.Generator(5));
        using var features = model.Features(images);
        using var resized = nn.functional.interpolate(images, new long[] { 299, 299 }, mode: InterpolationMode.Bilinear, align_corners: false);
        using var scaled = resized * 2 - 1;
        using var noGrad = no_grad();
        using var expected = model.forward(scaled);
        Assert.True(Same(features, expected));
    }

    [Fact]
    public void Safetensors_round_trip_is_bit_exact()
    {
        torch.manual_seed(6);
        using var model = new FidInceptionV3();
        RandomiseRunningStats(model);
        var path = Path.Combine(dir, "inception.safetensors");
        model.SaveSafetensors(path);

        using var loaded = FidInceptionV3.Load(path);
        var a = model.state_dict();
        var b = loaded.state_dict();
        Assert.Equal(a.Keys.Order(StringComparer.Ordinal), b.Keys.Order(StringComparer.Ordinal));
        foreach (var key in a.Keys)
            Assert.True(Same(a[key], b[key]), $"{key} differs after reload");

        using var images = rand(1, 3, 64, 64, generator: new torch.Generator(7));
        using var expected = model.Features(images);
        using var actual = loaded.Features(images);
        Assert.True(Same(expected, actual));
    }

    [Fact]
    public void Strict_load_refuses_missing_unexpected_and_misshapen_keys()
    {
        torch.manual_seed(8);
        using var model = new FidInceptionV3();
        var state = model.state_dict();

        var missingPath = Path.Combine(dir, "missing.safetensors");
        SafetensorsFile.Save(missingPath, state.Where(kv => kv.Key != "Mixed_6c.branch7x7dbl_3.bn.running_var"));
        var e = Assert.Throws<WeightFileException>(() => FidInceptionV3.Load(missingPath));
        Assert.Contains("missing key 'Mixed_6c.branch7x7dbl_3.bn.running_var'", e.Message);
        Assert.Contains(missingPath, e.Message);

        using var wrong = zeros(1000);
        var shapePath = Path.Combine(dir, "shape.safetensors");
        SafetensorsFile.Save(shapePath, state.Select(kv => kv.Key == "fc.bias" ? new KeyValuePair<string, Tensor>(kv.Key, wrong) : kv));
        e = Assert.Throws<WeightFileException>(() => FidInceptionV3.Load(shapePath));
        Assert.Contains("'fc.bias' has shape [1000]", e.Message);
        Assert.Contains("[1008]", e.Message);
        Assert.Contains(shapePath, e.Message);

        using var extra = zeros(3);
        var extraPath = Path.Combine(dir, "extra.safetensors");
        SafetensorsFile.Save(extraPath, state.Append(new KeyValuePair<string, Tensor>("AuxLogits.fc.bias", extra)));
        e = Assert.Throws<WeightFileException>(() => FidInceptionV3.Load(extraPath));
        Assert.Contains("unexpected key 'AuxLogits.fc.bias'", e.Message);
    }

    [Fact]
    public void Checkpoints_without_num_batches_tracked_load()
    {
        torch.manual_seed(9);
        using var model = new FidInceptionV3();
        var path = Path.Combine(dir, "no-tracked.safetensors");
        SafetensorsFile.Save(path, model.state_dict().Where(kv => !kv.Key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)));
        using var loaded = FidInceptionV3.Load(path);
        Assert.True(Same(model.state_dict()["fc.weight"], loaded.state_dict()["fc.weight"]));
    }

    [Fact]
    public void A_torch_save_state_dict_loads_bit_exactly()
    {
        torch.manual_seed(10);
        using var model = new FidInceptionV3();
        RandomiseRunningStats(model);
        var path = Path.Combine(dir, "inception.pth");
        TorchSharp.PyBridge.PyBridgeModuleExtensions.save_py(model, path); // the zip layout torch.save writes since PyTorch 1.6

        using var loaded = FidInceptionV3.Load(path);
        var a = model.state_dict();
        var b = loaded.state_dict();
        foreach (var key in a.Keys)
            Assert.True(Same(a[key], b[key]), $"{key} differs after reload");
    }

    [Fact]
    public void Old_format_pickles_are_refused_with_the_conversion_and_broken_files_are_named()
    {
        var legacy = Path.Combine(dir, "pt_inception-2015-12-05-6726825d.pth");
        File.WriteAllBytes(legacy, [0x80, 2, (byte)'c', 0, 0, 0, 0, 0, 0, 0]);
        var e = Assert.Throws<WeightFileException>(() => FidInceptionV3.Load(legacy));
        Assert.Contains(legacy, e.Message);
        Assert.Contains("safetensors", e.Message);

        var broken = Path.Combine(dir, "broken.pth");
        File.WriteAllBytes(broken, [(byte)'P', (byte)'K', 3, 4, 0, 0, 0, 0, 0, 0]);
        e = Assert.Throws<WeightFileException>(() => FidInceptionV3.Load(broken));
        Assert.Contains(broken, e.Message);

        var absent = Path.Combine(dir, "absent.safetensors");
        e = Assert.Throws<WeightFileException>(() => FidInceptionV3.Load(absent));
        Assert.Contains(absent, e.Message);
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static void RandomiseRunningStats(FidInceptionV3 model)
    {
        using var noGrad = no_grad();
        var generator = new torch.Generator(10);
        foreach (var (name, buffer) in model.named_buffers())
        {
            if (name.EndsWith("running_mean", StringComparison.Ordinal))
                buffer.copy_(randn(buffer.shape, generator: generator) * 0.1);
            else if (name.EndsWith("running_var", StringComparison.Ordinal))
                buffer.copy_(rand(buffer.shape, generator: generator) + 0.5);
        }
    }
}
