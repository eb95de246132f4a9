using SeLoRA.Data.LatentCache;
using SeLoRA.Data.Preprocessing;
using SeLoRA.Data.Tests.Preprocessing;
using SeLoRA.Diffusion.Models.Vae;
using SeLoRA.Diffusion.Presets;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Data.Tests.LatentCache;

public sealed class LatentStoreTests : IDisposable
{
    static readonly PreprocessSettings Settings = new(Resolution: 16);

    readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("selora-latents-");
    readonly string cacheRoot;
    readonly string[] images;
    readonly AutoencoderKl vae;

    public LatentStoreTests()
    {
        cacheRoot = Path.Combine(dir.FullName, "cache");
        var data = Directory.CreateDirectory(Path.Combine(dir.FullName, "images")).FullName;
        var rng = new Random(3);
        images = Enumerable.Range(0, 3).Select(i =>
        {
            var path = Path.Combine(data, $"img{i}.png");
            TestPngWriter.Write(path, 20, 16, i == 2 ? 1 : 3, i == 2 ? 16 : 8,
                Enumerable.Range(0, 20 * 16 * (i == 2 ? 1 : 3)).Select(_ => rng.Next(i == 2 ? 65536 : 256)).ToArray());
            return path;
        }).ToArray();
        torch.manual_seed(0);
        vae = new AutoencoderKl(AutoencoderKlConfig.FromJson(ModelPresets.ConfigElement("tiny", "vae")));
        vae.eval();
    }

    public void Dispose()
    {
        vae.Dispose();
        dir.Delete(recursive: true);
    }

    LatentStore Open(PreprocessSettings? settings = null, LatentCacheOptions? options = null, IReadOnlyList<string>? paths = null) =>
        LatentStore.OpenOrBuild(cacheRoot, paths ?? images, vae, settings ?? Settings, options ?? new LatentCacheOptions(BatchSize: 2));

    [Fact]
    public void Built_once_then_reused_and_equal_to_a_direct_encode()
    {
        var first = Open();
        Assert.False(first.Reused);
        Assert.Equal(3, first.EncodedCount);
        Assert.True(File.Exists(Path.Combine(first.Directory, LatentStore.ManifestFile)));

        var second = Open();
        Assert.True(second.Reused);
        Assert.Equal(0, second.EncodedCount);
        Assert.Equal(first.Directory, second.Directory);

        using var image = ImagePreprocessor.Load(images[2], Settings);
        using var noGrad = no_grad();
        using var posterior = vae.Encode(image.unsqueeze(0));
        var (mean, logVar) = second.Read(2);
        using (mean)
        using (logVar)
        {
            Assert.Equal(new long[] { 4, 2, 2 }, mean.shape);
            Assert.True(mean.allclose(posterior.Mean[0], rtol: 1e-5, atol: 1e-6));
            Assert.True(logVar.allclose(posterior.LogVar[0], rtol: 1e-5, atol: 1e-6));
        }
    }

    [Fact]
    public void A_changed_image_vae_weight_or_setting_gives_a_new_cache()
    {
        var original = Open();
        var keys = new HashSet<string> { original.Key.Value };

        var bytes = File.ReadAllBytes(images[1]);
        var changed = Path.Combine(dir.FullName, "images", "changed.png");
        TestPngWriter.Write(changed, 20, 16, 3, 8, Enumerable.Range(0, 20 * 16 * 3).Select(i => i % 256).ToArray());
        File.Copy(changed, images[1], overwrite: true);
        var afterImage = Open();
        Assert.False(afterImage.Reused);
        Assert.Equal(3, afterImage.EncodedCount);
        Assert.NotEqual(original.Key.DatasetHash, afterImage.Key.DatasetHash);
        Assert.Equal(original.Key.VaeHash, afterImage.Key.VaeHash);
        Assert.True(keys.Add(afterImage.Key.Value));
        File.WriteAllBytes(images[1], bytes);
        Assert.True(Open().Reused); // back to the original bytes: the original cache, untouched

        var afterSetting = Open(new PreprocessSettings(Resolution: 24));
        Assert.False(afterSetting.Reused);
        Assert.True(keys.Add(afterSetting.Key.Value));

        using (no_grad())
            vae.state_dict()["decoder.conv_out.bias"][0].add_(1e-3f);
        var afterVae = Open();
        Assert.False(afterVae.Reused);
        Assert.NotEqual(original.Key.VaeHash, afterVae.Key.VaeHash);
        Assert.True(keys.Add(afterVae.Key.Value));
        Assert.Equal(4, Directory.GetDirectories(cacheRoot).Length);
    }

    [Fact]
    public void A_crash_mid_write_is_not_trusted()
    {
        var built = Open();
        var (expectedMean, expectedLogVar) = built.Read(1);
        // Simulate a crash while entries 1 and 2 were being written and before the manifest: entry 1 only as a temp
        // file, entry 2 truncated at its final name (as a non-atomic writer would leave it).
        File.Delete(Path.Combine(built.Directory, LatentStore.ManifestFile));
        var temp = Path.Combine(built.Directory, ".000001.safetensors.0123456789abcdef.tmp");
        File.Move(built.EntryPath(1), temp);
        File.WriteAllBytes(temp, File.ReadAllBytes(temp)[..40]);
        var entry2 = File.ReadAllBytes(built.EntryPath(2));
        File.WriteAllBytes(built.EntryPath(2), entry2[..(entry2.Length / 2)]);

        var rebuilt = Open();
        Assert.False(rebuilt.Reused);
        Assert.Equal(2, rebuilt.EncodedCount);
        Assert.False(File.Exists(temp));
        Assert.Equal(entry2, File.ReadAllBytes(rebuilt.EntryPath(2)));
        var (mean, logVar) = rebuilt.Read(1);
        using (expectedMean) using (expectedLogVar) using (mean) using (logVar)
        {
            Assert.True(mean.equal(expectedMean).all().item<bool>());
            Assert.True(logVar.equal(expectedLogVar).all().item<bool>());
        }
        Assert.True(Open().Reused);
    }

    [Fact]
    public void Corrupt_images_are_skipped_and_reported_or_fail_fast()
    {
        var junk = Path.Combine(dir.FullName, "images", "junk.png");
        File.WriteAllText(junk, "not a png");
        var paths = new[] { images[0], junk, images[1] };
        var e = Assert.Throws<InvalidDataException>(() => Open(options: new LatentCacheOptions(FailFast: true), paths: paths));
        Assert.Contains("junk.png", e.Message);

        var store = Open(paths: paths);
        var skipped = Assert.Single(store.SkippedImages);
        Assert.Equal(1, skipped.Index);
        Assert.Contains("junk.png", skipped.Reason);
        Assert.Equal([0, 2], store.ValidIndices);
        Assert.Throws<InvalidOperationException>(() => store.Read(1));
        var reopened = Open(paths: paths);
        Assert.True(reopened.Reused);
        Assert.Equal([0, 2], reopened.ValidIndices);
    }

    [Fact]
    public void Sampled_latents_follow_the_formula_and_the_per_sample_seed()
    {
        var store = Open();
        using var batch = store.SampleBatch([0, 2], seed: 11, step: 5);
        using var alone = store.SampleBatch([2], seed: 11, step: 5);
        using var laterStep = store.SampleBatch([2], seed: 11, step: 6);
        Assert.Equal(new long[] { 2, 4, 2, 2 }, batch.shape);
        Assert.True(batch[1].equal(alone[0]).all().item<bool>());
        Assert.False(laterStep.equal(alone).all().item<bool>());

        var (mean, logVar) = store.Read(2);
        using var g = new Generator(LatentStore.NoiseSeed(11, 5, 2));
        using var noise = randn(mean.shape, generator: g);
        using var expected = (mean + (logVar * 0.5).exp() * noise) * 0.18215;
        Assert.Equal(0.18215, store.ScalingFactor, 6);
        Assert.True(alone[0].allclose(expected, rtol: 1e-6, atol: 1e-7));
        mean.Dispose();
        logVar.Dispose();
    }

    [Fact]
    public void Random_preprocessing_cannot_be_cached()
    {
        var e = Assert.Throws<ArgumentException>(() => Open(new PreprocessSettings(Resolution: 16, RandomFlip: true)));
        Assert.Contains("deterministic", e.Message);
    }
}
