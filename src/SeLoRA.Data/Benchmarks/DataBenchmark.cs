using System.Diagnostics;
using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Data.LatentCache;
using SeLoRA.Data.Preprocessing;
using SeLoRA.Diffusion.Models.Vae;
using SeLoRA.Diffusion.Presets;
using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Data.Benchmarks;

public sealed record DataThroughput(int Images, int Resolution, TimeSpan Decode, TimeSpan CacheBuild, TimeSpan CachedRead)
{
    public double DecodeImagesPerSecond => Images / Decode.TotalSeconds;
    public double CacheBuildImagesPerSecond => Images / CacheBuild.TotalSeconds;
    public double CachedImagesPerSecond => Images / CachedRead.TotalSeconds;
}

/// <summary>The measurements behind `selora bench data`, on SynthCXR images the benchmark writes itself.</summary>
public static class DataBenchmark
{
    public static DataThroughput Measure(int images = 64, int sourceSize = 224, int resolution = 64)
    {
        TorchRuntime.EnsureLoaded();
        var folder = Directory.CreateTempSubdirectory("selora-bench-data-").FullName;
        try
        {
            SynthCxrGenerator.Generate(Path.Combine(folder, "images"), images, sourceSize, seed: 1);
            var paths = Directory.GetFiles(Path.Combine(folder, "images"), "*.png").Order(StringComparer.Ordinal).ToList();
            var settings = new PreprocessSettings(resolution);

            var watch = Stopwatch.StartNew();
            foreach (var path in paths)
            {
                using var image = ImagePreprocessor.Load(path, settings);
            }
            var decode = watch.Elapsed;

            manual_seed(0);
            using var vae = new AutoencoderKl(AutoencoderKlConfig.FromJson(ModelPresets.ConfigElement(ModelPresets.Tiny, "vae")));
            foreach (var p in vae.parameters()) p.requires_grad = false;
            watch.Restart();
            var store = LatentStore.OpenOrBuild(Path.Combine(folder, "cache"), paths, vae, settings);
            var build = watch.Elapsed;

            watch.Restart();
            var indices = Enumerable.Range(0, paths.Count).ToList();
            for (var start = 0; start < indices.Count; start += 8)
            {
                using var batch = store.SampleBatch(indices.GetRange(start, Math.Min(8, indices.Count - start)), seed: 0, step: start);
            }
            return new DataThroughput(paths.Count, resolution, decode, build, watch.Elapsed);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
