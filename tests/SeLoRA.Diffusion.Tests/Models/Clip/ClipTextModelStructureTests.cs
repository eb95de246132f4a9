using System.Diagnostics;
using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.TestSupport;
using SeLoRA.Torch;

namespace SeLoRA.Diffusion.Tests.Models.Clip;

public class ClipTextModelStructureTests(ITestOutputHelper output)
{
    [Fact]
    public void Sd15_config_builds_exactly_the_text_encoder_state_dict_names_and_shapes()
    {
        var manifest = File.ReadAllLines(RepoPaths.RequireShared("sd15/text_encoder.keys.tsv"))
            .Where(line => line.Length > 0)
            .Select(line => line.Split('\t'))
            .ToDictionary(parts => parts[0], parts => parts[1]);
        Assert.Equal(197, manifest.Count);
        Assert.True(manifest.Remove(ClipTextModel.PositionIdsKey), "the manifest lists position_ids");

        TorchRuntime.EnsureLoaded();
        var watch = Stopwatch.StartNew();
        using var model = new ClipTextModel(ClipTextConfig.FromJson(RepoPaths.RequireShared("sd15/text_encoder.config.json")));
        output.WriteLine($"built SD1.5 CLIPTextModel in {watch.ElapsedMilliseconds} ms");

        var actual = model.state_dict().ToDictionary(pair => pair.Key, pair => string.Join(",", pair.Value.shape));
        Assert.Equal(manifest.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, shape) in manifest)
            Assert.True(shape == actual[name], $"{name}: manifest [{shape}], model [{actual[name]}]");

        Assert.Equal(123_060_480L, model.parameters().Sum(p => p.numel()));
        Assert.Equal(196, model.parameters().Count());
    }

    [Fact]
    public void Position_ids_is_a_buffer_that_state_dict_leaves_out()
    {
        TorchRuntime.EnsureLoaded();
        using var model = new ClipTextModel(TinyClip.Config with { });
        Assert.DoesNotContain(ClipTextModel.PositionIdsKey, model.state_dict().Keys);
        var buffer = model.TextModel.Embeddings.get_buffer("position_ids");
        Assert.NotNull(buffer);
        Assert.Equal(new long[] { 1, 77 }, buffer.shape);
        Assert.Equal(TorchSharp.torch.ScalarType.Int64, buffer.dtype);
        Assert.Equal(Enumerable.Range(0, 77).Select(i => (long)i), buffer.data<long>().ToArray());
    }
}
