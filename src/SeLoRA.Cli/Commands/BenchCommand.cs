using System.CommandLine;
using SeLoRA.Diffusion.Benchmarks;
using SeLoRA.Diffusion.Models;
using SeLoRA.Diffusion.Models.Clip;
using SeLoRA.Diffusion.Presets;
using Spectre.Console;
using static TorchSharp.torch;

namespace SeLoRA.Cli.Commands;

/// <summary>`selora bench`: speed and memory figures, measured side by side in one run and printed as ratios.</summary>
public static class BenchCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var bench = new Command("bench", "Measure speed and memory on this machine; figures are compared within one run.");
        bench.Subcommands.Add(Model(console));
        bench.Subcommands.Add(Adapters(console));
        bench.Subcommands.Add(Data(console));
        bench.Subcommands.Add(Train(console));
        bench.Subcommands.Add(ClusterBench(console));
        bench.Subcommands.Add(Eval(console));
        return bench;
    }

    static Command Model(IAnsiConsole console)
    {
        var preset = new Option<string>("--preset") { Description = "Architecture for the frozen pass: sd15 or tiny.", DefaultValueFactory = _ => ModelPresets.Sd15 };
        var resolution = new Option<int>("--resolution") { Description = "Image side in pixels (the paper trains at 224).", DefaultValueFactory = _ => 224 };
        var batch = new Option<int>("--batch") { Description = "Images per pass.", DefaultValueFactory = _ => 1 };
        var noBf16 = new Option<bool>("--no-bf16") { Description = "Skip the bf16 frozen-weights pass." };
        var tinySteps = new Option<int>("--tiny-steps") { Description = "Timed training steps of the tiny model (0 skips it).", DefaultValueFactory = _ => 20 };
        var command = new Command("model",
            "One forward+backward of the frozen U-Net and text encoder (random weights, gradients through every layer) in fp32 and " +
            "with bf16 weights: time and peak memory; then tiny-model training throughput in images/s.");
        foreach (var option in new Option[] { preset, resolution, batch, noBf16, tinySteps }) command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var name = parse.GetValue(preset)!;
            if (!ModelPresets.IsPreset(name)) throw new UsageException($"--preset {name}: expected one of {string.Join(", ", ModelPresets.Names)}.");
            var side = parse.GetValue(resolution);
            if (side < 8 || side % 8 != 0) throw new UsageException($"--resolution {side}: must be a positive multiple of 8.");
            var images = parse.GetValue(batch);
            if (images < 1) throw new UsageException($"--batch {images}: must be at least 1.");
            var writer = console.Profile.Out.Writer;
            writer.WriteLine($"frozen forward+backward: {name}, {side}x{side}, batch {images}, {get_num_threads()} threads");
            var passes = new List<PassMeasurement>();
            var dtypes = parse.GetValue(noBf16) ? new[] { ScalarType.Float32 } : new[] { ScalarType.Float32, ScalarType.BFloat16 };
            // A small pass per dtype first, so kernel set-up is not charged to whichever dtype runs first.
            foreach (var dtype in dtypes) ModelBenchmark.FrozenPass(ModelPresets.Tiny, dtype, 64, 1);
            foreach (var (label, attach) in new (string, Func<ClipTextModel, Unet2DConditionModel, long>?)[] { ("frozen base", null), ("+ selora-paper SeLoRA", AttachPaperSeLora) })
                foreach (var dtype in dtypes)
                {
                    var m = ModelBenchmark.FrozenPass(name, dtype, side, images, attachAdapters: attach);
                    passes.Add(m);
                    writer.WriteLine($"  {label,-22} {m.DType,-9} time {m.Elapsed.TotalSeconds,8:F2} s   weights {Gib(m.ModelBytes),6:F2} GiB   " +
                                     $"pass peak above baseline {Gib(m.PeakIncreaseBytes),6:F2} GiB   process peak {Gib(m.PeakResidentBytes),6:F2} GiB" +
                                     (m.AdapterParameters > 0 ? $"   adapter parameters {m.AdapterParameters:N0}" : ""));
                }
            if (dtypes.Length == 2)
                writer.WriteLine($"  bf16/fp32 ratios (frozen base): time {passes[1].Elapsed / passes[0].Elapsed:F2}, " +
                                 $"peak memory {(double)passes[1].PeakIncreaseBytes / Math.Max(1, passes[0].PeakIncreaseBytes):F2}, " +
                                 $"weights {(double)passes[1].ModelBytes / passes[0].ModelBytes:F2}");
            writer.WriteLine($"  SeLoRA/frozen time ratio ({dtypes[0]}): {passes[dtypes.Length].Elapsed / passes[0].Elapsed:F2}");
            var steps = parse.GetValue(tinySteps);
            if (steps > 0)
            {
                var t = ModelBenchmark.TinyTraining(steps: steps);
                writer.WriteLine($"tiny training: {t.Resolution}x{t.Resolution}, batch {t.Batch}, {t.Steps} steps in {t.Elapsed.TotalSeconds:F2} s: " +
                                 $"{t.ImagesPerSecond:F1} images/s");
            }
            return 0;
        }));
        return command;
    }

    static Command Adapters(IAnsiConsole console)
    {
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per figure (the median is printed).", DefaultValueFactory = _ => 5 };
        var command = new Command("adapters",
            "Adapter cost on SD1.5-sized layers (320, 640, 1280 wide; 784 or 77 tokens; batch 8): forward+backward relative to the bare " +
            "frozen layer, and a SeLoRA expansion-test step relative to a normal step.");
        command.Options.Add(repeats);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var n = parse.GetValue(repeats);
            if (n < 1) throw new UsageException($"--repeats {n}: must be at least 1.");
            var writer = console.Profile.Out.Writer;
            writer.WriteLine($"batch 8, median of {n}, {get_num_threads()} threads; times in ms, ratios within each row");
            writer.WriteLine($"{"width",6} {"tokens",6} {"bare",9} {"lora r8",9} {"selora r1",9} {"lora/bare",9} {"selora/bare",11} {"step",9} {"test step",9} {"test/step",9}");
            foreach (var width in new long[] { 320, 640, 1280 })
                foreach (var tokens in new long[] { 784, 77 })
                {
                    var c = SeLoRA.Adapters.Benchmarks.AdapterBenchmark.Measure(width, tokens, 8, n);
                    writer.WriteLine($"{width,6} {tokens,6} {c.Bare.TotalMilliseconds,9:F2} {c.Lora8.TotalMilliseconds,9:F2} {c.SeLora1.TotalMilliseconds,9:F2} " +
                                     $"{c.LoraRatio,9:F2} {c.SeLoraRatio,11:F2} {c.NormalStep.TotalMilliseconds,9:F2} {c.TestStep.TotalMilliseconds,9:F2} {c.TestStepRatio,9:F2}");
                }
            return 0;
        }));
        return command;
    }

    /// <summary>The official run's 206 layers with SeLoRA at rank 1; returns the trainable parameter count.</summary>
    static long AttachPaperSeLora(ClipTextModel text, Unet2DConditionModel unet)
    {
        var targets = SeLoRA.Adapters.Injection.AdapterPresets.Get(SeLoRA.Adapters.Injection.AdapterPresets.SeLoraPaper);
        var config = new SeLoRA.Adapters.SeLora.SeLoraConfig { Seed = 1 };
        var layers = SeLoRA.Adapters.Injection.AdapterInjector.Inject(text, targets.TextEncoderFilter,
            site => new SeLoRA.Adapters.SeLora.SeLoraLinear(site.Name, site.Index, site.Layer, config));
        var unetLayers = SeLoRA.Adapters.Injection.AdapterInjector.Inject(unet, targets.UnetFilter,
            site => new SeLoRA.Adapters.SeLora.SeLoraLinear(site.Name, site.Index, site.Layer, config), firstIndex: layers.Count);
        return layers.Concat(unetLayers).SelectMany(l => l.TrainableParameters()).Sum(p => p.numel());
    }

    static Command Data(IAnsiConsole console)
    {
        var images = new Option<int>("--images") { Description = "SynthCXR images to generate and read.", DefaultValueFactory = _ => 64 };
        var command = new Command("data",
            "Decode+preprocess images/s and cached-latent images/s on SynthCXR, next to the tiny model's training consumption rate.");
        command.Options.Add(images);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var n = parse.GetValue(images);
            if (n < 8) throw new UsageException($"--images {n}: use at least 8.");
            var d = SeLoRA.Data.Benchmarks.DataBenchmark.Measure(n);
            var t = ModelBenchmark.TinyTraining(steps: 10);
            var writer = console.Profile.Out.Writer;
            writer.WriteLine($"{d.Images} SynthCXR images 224 px -> {d.Resolution} px, {get_num_threads()} threads");
            writer.WriteLine($"  decode + preprocess      {d.DecodeImagesPerSecond,8:F1} images/s");
            writer.WriteLine($"  latent cache build (VAE) {d.CacheBuildImagesPerSecond,8:F1} images/s");
            writer.WriteLine($"  cached latents           {d.CachedImagesPerSecond,8:F1} images/s");
            writer.WriteLine($"  tiny training consumes   {t.ImagesPerSecond,8:F1} images/s");
            writer.WriteLine($"  ratios to training: decode {d.DecodeImagesPerSecond / t.ImagesPerSecond:F1}x, cached {d.CachedImagesPerSecond / t.ImagesPerSecond:F1}x");
            return 0;
        }));
        return command;
    }

    static Command Train(IAnsiConsole console)
    {
        var model = new Option<string>("--model", "-m") { Description = "The base model (a tiny one keeps this short).", DefaultValueFactory = _ => "assets/tiny-base" };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps per measured run.", DefaultValueFactory = _ => 120 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds of every variant (the best of each is reported).", DefaultValueFactory = _ => 2 };
        var command = new Command("train",
            "The training engine's images/s against a bare loop on the same model and batch, and SeLoRA's step cost against rank-1 LoRA.");
        command.Options.Add(model);
        command.Options.Add(steps);
        command.Options.Add(rounds);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var writer = console.Profile.Out.Writer;
            var t = SeLoRA.Training.Benchmarks.TrainBenchmark.Measure(parse.GetValue(model)!, parse.GetValue(steps), rounds: parse.GetValue(rounds),
                log: line => writer.WriteLine("  " + line));
            writer.WriteLine($"tiny base, batch {t.BatchSize}, {t.Steps} steps per run, best of {t.Rounds} rounds, {Environment.ProcessorCount} CPU threads");
            writer.WriteLine($"engine (no expansion tests)   {t.EngineImagesPerSecond,8:F1} images/s");
            writer.WriteLine($"bare loop, same model         {t.BareImagesPerSecond,8:F1} images/s");
            writer.WriteLine($"engine overhead (bare/engine) {t.EngineOverhead,8:F3}   (aim: at most 1.05)");
            writer.WriteLine($"SeLoRA, T 40, lambda 1.3      {t.SeLoraImagesPerSecond,8:F1} images/s   ({t.SeLoraTests} tests; total rank {t.SeLoraRankStart} -> {t.SeLoraRankEnd})");
            writer.WriteLine($"LoRA rank 1                   {t.LoraRank1ImagesPerSecond,8:F1} images/s   (total rank {t.LoraRank})");
            writer.WriteLine($"SeLoRA step cost / LoRA r1    {t.SeLoraCostRatio,8:F3}");
            return 0;
        }));
        return command;
    }

    static Command ClusterBench(IAnsiConsole console)
    {
        var model = new Option<string>("--model", "-m") { Description = "The base model (a tiny one keeps this short).", DefaultValueFactory = _ => "assets/tiny-base" };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps per measured run.", DefaultValueFactory = _ => 60 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds of every variant (the best of each is reported).", DefaultValueFactory = _ => 2 };
        var sizes = new Option<string>("--sizes") { Description = "All-reduce payloads in MB, comma-separated.", DefaultValueFactory = _ => "1,4,16,64" };
        var command = new Command("cluster",
            "Step time through the actors (1 and 2 workers in process) against the plain engine, and the all-reduce over the tensor channel against raw TCP.");
        foreach (var option in new Option[] { model, steps, rounds, sizes }) command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var writer = console.Profile.Out.Writer;
            var (config, _) = ConfigOptions.Load(parse);
            var figures = SeLoRA.Cluster.Benchmarks.ClusterBenchmark.MeasureSteps(config, parse.GetValue(model)!, parse.GetValue(steps),
                rounds: parse.GetValue(rounds), log: line => writer.WriteLine("  " + line));
            var engine = figures.First(f => f.Label.StartsWith("engine", StringComparison.Ordinal)).ImagesPerSecond;
            writer.WriteLine($"tiny base, batch 8, {parse.GetValue(steps)} steps per run, best of {parse.GetValue(rounds)} rounds, {Environment.ProcessorCount} CPU threads");
            foreach (var f in figures)
                writer.WriteLine($"{f.Label,-22} {f.ImagesPerSecond,8:F1} images/s   overhead vs engine {engine / f.ImagesPerSecond,6:F3}");
            var megabytes = parse.GetValue(sizes)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
            var reduce = SeLoRA.Cluster.Benchmarks.AllReduceBenchmark.Measure(megabytes, line => writer.WriteLine("  " + line));
            writer.WriteLine("all-reduce between two actor systems (tensor channel) vs raw TCP loopback, same bytes:");
            foreach (var r in reduce)
                writer.WriteLine($"{r.Megabytes,4} MB   channel {r.TransportSeconds * 1000,8:F1} ms {r.TransportMBps,8:F0} MB/s   raw TCP {r.RawTcpSeconds * 1000,8:F1} ms {r.RawTcpMBps,8:F0} MB/s   ratio {r.Ratio,5:F2}");
            return 0;
        }));
        return command;
    }

    static Command Eval(IAnsiConsole console)
    {
        var resnet = new Option<int>("--resnet-images") { Description = "Timed ResNet18 images, 224x224 (0 skips).", DefaultValueFactory = _ => 16 };
        var inception = new Option<int>("--inception-images") { Description = "Timed InceptionV3 images, 299x299, random weights (0 skips).", DefaultValueFactory = _ => 4 };
        var batch = new Option<int>("--batch") { Description = "Images per feature-network call.", DefaultValueFactory = _ => 4 };
        var dimension = new Option<int>("--frechet-dim") { Description = "Feature dimension of the Fréchet distance timing (0 skips).", DefaultValueFactory = _ => 2048 };
        var images = new Option<int>("--generate-images") { Description = "Images the tiny model generates (0 skips).", DefaultValueFactory = _ => 8 };
        var steps = new Option<int>("--generate-steps") { Description = "Denoising steps per generated image.", DefaultValueFactory = _ => 10 };
        var command = new Command("eval",
            "Evaluation costs side by side: features/s of ResNet18 (ONNX) and InceptionV3 (libtorch), one Fréchet distance at d = 2048, " +
            "and the tiny model's generation images/s.");
        foreach (var option in new Option[] { resnet, inception, batch, dimension, images, steps }) command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            foreach (var option in new[] { resnet, inception, dimension, images })
                if (parse.GetValue(option) < 0) throw new UsageException($"{option.Name} {parse.GetValue(option)}: must be 0 or more.");
            foreach (var option in new[] { batch, steps })
                if (parse.GetValue(option) < 1) throw new UsageException($"{option.Name} {parse.GetValue(option)}: must be at least 1.");
            var writer = console.Profile.Out.Writer;
            var r = SeLoRA.Evaluation.Benchmarks.EvaluationBenchmark.Measure(new SeLoRA.Evaluation.Benchmarks.EvaluationBenchmarkOptions
            {
                ResNetImages = parse.GetValue(resnet),
                InceptionImages = parse.GetValue(inception),
                Batch = parse.GetValue(batch),
                FrechetDimension = parse.GetValue(dimension),
                GenerationImages = parse.GetValue(images),
                GenerationSteps = parse.GetValue(steps),
            }, line => writer.WriteLine("  " + line));
            writer.WriteLine($"evaluation costs, {r.Threads} threads, batch {parse.GetValue(batch)}");
            if (r.ResNet18 is { } a)
                writer.WriteLine($"  ResNet18 (ONNX Runtime) {a.InputSize}x{a.InputSize}      {a.ImagesPerSecond,8:F1} images/s   ({a.Images} in {a.Elapsed.TotalSeconds:F2} s; FD-ResNet18)");
            if (r.Inception is { } b)
                writer.WriteLine($"  InceptionV3 (libtorch) {b.InputSize}x{b.InputSize}       {b.ImagesPerSecond,8:F1} images/s   ({b.Images} in {b.Elapsed.TotalSeconds:F2} s; FID)");
            if (r.ResNet18 is { } c && r.Inception is { } d)
                writer.WriteLine($"  ResNet18 / InceptionV3 speed ratio     {c.ImagesPerSecond / d.ImagesPerSecond,8:F1}x");
            if (r.FrechetElapsed is { } f)
                writer.WriteLine($"  Fréchet distance, d = {r.FrechetDimension,-5}          {f.TotalSeconds,8:F2} s");
            if (r.Generation is { } g)
            {
                writer.WriteLine($"  tiny generation {g.Resolution}x{g.Resolution}, {g.Steps} steps      {g.ImagesPerSecond,8:F2} images/s   ({g.Images} in {g.Elapsed.TotalSeconds:F2} s)");
                if (r.ResNet18 is { } e)
                    writer.WriteLine($"  ResNet18 features / generation rate    {e.ImagesPerSecond / g.ImagesPerSecond,8:F1}x");
            }
            return 0;
        }));
        return command;
    }

    static double Gib(long bytes) => bytes / (1024.0 * 1024 * 1024);
}
