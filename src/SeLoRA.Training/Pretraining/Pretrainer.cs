using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SeLoRA.Data.Pretraining;
using SeLoRA.Diffusion.Loading;
using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Diffusion.Presets;
using SeLoRA.Diffusion.Schedulers;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Training.Pretraining;

/// <summary>
/// Trains the project's own tiny "natural image" base from scratch on Fashion-MNIST, standing in for SD1.5 where its
/// weights are absent: first the VAE (reconstruction MSE plus a small KL), then the U-Net together with the text encoder
/// on the epsilon loss with prompt dropout. Seeded throughout: the same seed gives the same bytes on the same machine.
/// </summary>
public static class Pretrainer
{
    public const string RecordFile = "PRETRAINED.md";

    /// <summary>Trains and writes a diffusers folder (plus PRETRAINED.md) to <paramref name="outFolder"/>.</summary>
    public static PretrainSummary Run(PretrainOptions options, string outFolder, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        log ??= _ => { };
        TorchRuntime.EnsureLoaded();
        var clock = Stopwatch.StartNew();

        var corpus = FashionMnist.Load(options.CorpusFolderOrDefault, "train", options.ImageLimit);
        log($"corpus: {corpus.Count} images from {corpus.ImagesPath}");
        var work = Directory.CreateTempSubdirectory("selora-pretrain-").FullName;
        try
        {
            var tokenizerFolder = Path.Combine(work, "tokenizer");
            var vocabulary = PretrainingVocabulary.Write(tokenizerFolder);
            log($"tokenizer: {vocabulary.Tokens.Count} tokens ({vocabulary.Merges.Count} merges) from the captions and radiology phrases");
            using var models = StableDiffusionModels.Create(ModelPresets.Tiny, tokenizerFolder, options.Seed);

            var vaeClock = Stopwatch.StartNew();
            var vaeLoss = TrainVae(models, corpus, options, log);
            var (latentStd, scale) = MeasureLatents(models, corpus, options);
            vaeClock.Stop();
            log($"vae: latent std {latentStd:F4}, scaling_factor {scale:F5}");

            var unetClock = Stopwatch.StartNew();
            var unetLoss = TrainUnet(models, corpus, options, (float)scale, log);
            unetClock.Stop();

            if (Directory.Exists(outFolder)) Directory.Delete(outFolder, recursive: true);
            // Half precision halves the checked-in folder; loading upcasts to float32.
            models.Save(outFolder, new SaveOptions { FloatDType = ScalarType.Float16 });
            SetScalingFactor(Path.Combine(outFolder, "vae", "config.json"), scale);
            clock.Stop();

            var summary = new PretrainSummary(Path.GetFullPath(outFolder), clock.Elapsed, vaeClock.Elapsed, unetClock.Elapsed,
                Count(models.Vae), Count(models.Unet), Count(models.TextEncoder), vaeLoss, unetLoss, latentStd, scale,
                vocabulary.Tokens.Count, corpus.Count, 0, CorpusVersion());
            File.WriteAllText(Path.Combine(outFolder, RecordFile), Record(summary, options, corpus));
            summary = summary with { FolderBytes = FolderBytes(outFolder) };
            return summary;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    static double TrainVae(StableDiffusionModels models, FashionMnist corpus, PretrainOptions options, Action<string> log)
    {
        var vae = models.Vae;
        vae.train();
        using var optimizer = optim.Adam(vae.parameters(), lr: options.VaeLearningRate);
        using var generator = new Generator(unchecked((ulong)options.Seed * 2 + 101));
        var recent = new Tail(Math.Max(1, options.VaeSteps / 10));
        var clock = Stopwatch.StartNew();
        for (var step = 1; step <= options.VaeSteps; step++)
        {
            using var scope = NewDisposeScope();
            var images = corpus.Batch(Draw(corpus.Count, options.VaeBatchSize, generator), options.ImageSize);
            using var posterior = vae.Encode(images);
            var reconstruction = vae.Decode(posterior.Sample(generator));
            var mse = nn.functional.mse_loss(reconstruction, images);
            var kl = posterior.Kl().mean();
            var loss = mse + kl * options.KlWeight;
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            var value = mse.item<float>();
            recent.Add(value);
            if (step % options.LogEvery == 0 || step == options.VaeSteps)
                log($"vae step {step}/{options.VaeSteps}: mse {value:F4} (last {recent.Count}: {recent.Mean:F4}), kl {kl.item<float>():F1}, {clock.Elapsed.TotalSeconds:F0} s");
        }
        foreach (var p in vae.parameters()) p.requires_grad = false;
        vae.eval();
        return recent.Mean;
    }

    /// <summary>The std of the posterior means over a fixed sample; SD's scaling_factor is its inverse (0.18215 for SD's VAE).</summary>
    static (double Std, double Scale) MeasureLatents(StableDiffusionModels models, FashionMnist corpus, PretrainOptions options)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var n = Math.Min(corpus.Count, 512);
        var chunks = new List<Tensor>();
        for (var start = 0; start < n; start += 128)
        {
            var indices = Enumerable.Range(start, Math.Min(128, n - start)).ToArray();
            using var posterior = models.Vae.Encode(corpus.Batch(indices, options.ImageSize));
            chunks.Add(posterior.Mean.clone());
        }
        var std = cat(chunks, 0).std().item<float>();
        return (std, 1.0 / std);
    }

    static double TrainUnet(StableDiffusionModels models, FashionMnist corpus, PretrainOptions options, float scale, Action<string> log)
    {
        var clock = Stopwatch.StartNew();
        var ddpm = new DdpmScheduler(SchedulerConfig.StableDiffusion15);
        // Tokenize each distinct caption once; a step indexes rows. The last row is the empty prompt.
        var captions = FashionMnistCaptions.All().ToList();
        var captionRow = captions.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => (long)x.i, StringComparer.Ordinal);
        using var ids = models.Tokenizer.EncodeBatch([.. captions, ""]).ToTensor();
        long emptyRow = captions.Count;

        models.Unet.train();
        models.TextEncoder.train();
        foreach (var p in models.TextEncoder.parameters()) p.requires_grad = true;
        var parameters = models.Unet.parameters().Concat(models.TextEncoder.parameters()).ToList();
        using var optimizer = optim.Adam(parameters, lr: options.UnetLearningRate);
        using var generator = new Generator(unchecked((ulong)options.Seed * 2 + 202));
        // Encode a pool of images once: the VAE at 64x64 costs far more than the U-Net at 8x8.
        var poolSize = Math.Min(corpus.Count, options.LatentPool);
        using var pool = EncodePool(models, corpus, poolSize, options.ImageSize, scale);
        log($"unet: {poolSize} images encoded to latents in {clock.Elapsed.TotalSeconds:F0} s");
        var recent = new Tail(Math.Max(1, options.UnetSteps / 10));
        for (var step = 1; step <= options.UnetSteps; step++)
        {
            using var scope = NewDisposeScope();
            var indices = Draw(poolSize, options.BatchSize, generator);
            using var picked = tensor(indices.Select(i => (long)i).ToArray());
            var x0 = pool.index_select(0, picked);
            var rows = tensor(indices.Select(i => captionRow[corpus.Caption(i)]).ToArray());
            // Drop the prompt now and then so the unconditional branch of guidance is learned.
            var dropped = rand(new long[] { indices.Length }, generator: generator).lt(options.PromptDropout);
            rows = where(dropped, full_like(rows, emptyRow), rows);
            var context = models.TextEncoder.forward(ids.index_select(0, rows));
            var noise = randn(x0.shape, generator: generator);
            var t = ddpm.SampleTimesteps(indices.Length, generator: generator);
            var prediction = models.Unet.forward(ddpm.AddNoise(x0, noise, t), t, context);
            var loss = nn.functional.mse_loss(prediction, noise);
            optimizer.zero_grad();
            loss.backward();
            nn.utils.clip_grad_norm_(parameters, 1.0);
            optimizer.step();
            var value = loss.item<float>();
            recent.Add(value);
            if (step % options.LogEvery == 0 || step == options.UnetSteps)
                log($"unet step {step}/{options.UnetSteps}: eps mse {value:F4} (last {recent.Count}: {recent.Mean:F4}), {clock.Elapsed.TotalSeconds:F0} s");
        }
        models.Unet.eval();
        models.TextEncoder.eval();
        return recent.Mean;
    }

    static Tensor EncodePool(StableDiffusionModels models, FashionMnist corpus, int count, int size, float scale)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var chunks = new List<Tensor>();
        for (var start = 0; start < count; start += 256)
        {
            var indices = Enumerable.Range(start, Math.Min(256, count - start)).ToArray();
            using var posterior = models.Vae.Encode(corpus.Batch(indices, size));
            chunks.Add(posterior.Mean * scale);
        }
        return scope.MoveToOuter(cat(chunks, 0));
    }

    static int[] Draw(int count, int batch, Generator generator)
    {
        using var drawn = randint(0, count, new long[] { batch }, ScalarType.Int64, generator: generator);
        return drawn.data<long>().Select(i => (int)i).ToArray();
    }

    static void SetScalingFactor(string configPath, double scale)
    {
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config["scaling_factor"] = Math.Round(scale, 5);
        File.WriteAllText(configPath, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    static long Count(nn.Module module) => module.parameters().Sum(p => p.numel());

    static long FolderBytes(string folder) =>
        new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    /// <summary>The installed version of the Debian package the corpus comes from, from dpkg's status file.</summary>
    public static string CorpusVersion()
    {
        const string status = "/var/lib/dpkg/status";
        if (!File.Exists(status)) return "unknown (no dpkg status)";
        var inPackage = false;
        foreach (var line in File.ReadLines(status))
        {
            if (line.StartsWith("Package: ", StringComparison.Ordinal)) inPackage = line == $"Package: {FashionMnist.DebianPackage}";
            else if (inPackage && line.StartsWith("Version: ", StringComparison.Ordinal)) return line["Version: ".Length..];
        }
        return "unknown (package not installed)";
    }

    static string Record(PretrainSummary s, PretrainOptions o, FashionMnist corpus)
    {
        var c = CultureInfo.InvariantCulture;
        var b = new StringBuilder();
        b.AppendLine("# Pretrained tiny base model");
        b.AppendLine();
        b.AppendLine("The project's own small text-to-image model (the `tiny` preset: 64x64 images, 8x8x4 latents), trained from scratch");
        b.AppendLine("on Fashion-MNIST with a byte-level BPE vocabulary learned from its captions and chest X-ray phrases. It stands in");
        b.AppendLine("for SD1.5 in tests and the quickstart; it is not SD1.5 and shares none of its weights or vocabulary.");
        b.AppendLine();
        if (o.Command != null) b.AppendLine(c, $"- command: `{o.Command}`");
        b.AppendLine(c, $"- seed: {o.Seed}");
        b.AppendLine(c, $"- corpus: Debian package `{FashionMnist.DebianPackage}` version {s.CorpusVersion}, {s.Images} training images");
        b.AppendLine(c, $"  - {Path.GetFileName(corpus.ImagesPath)} sha256 {Sha256(corpus.ImagesPath)}");
        b.AppendLine(c, $"  - {Path.GetFileName(corpus.LabelsPath)} sha256 {Sha256(corpus.LabelsPath)}");
        b.AppendLine(c, $"- budget: vae {o.VaeSteps} steps of {o.VaeBatchSize} images, unet+text encoder {o.UnetSteps} steps of {o.BatchSize} latents (pool of {Math.Min(s.Images, o.LatentPool)} images), Adam lr {o.VaeLearningRate:G3} / {o.UnetLearningRate:G3}, kl weight {o.KlWeight:G3}, prompt dropout {o.PromptDropout:G3}");
        b.AppendLine(c, $"- time: {s.Elapsed.TotalSeconds:F0} s (vae {s.VaeElapsed.TotalSeconds:F0} s, unet {s.UnetElapsed.TotalSeconds:F0} s) on {Environment.ProcessorCount} CPU threads");
        b.AppendLine(c, $"- final losses (mean of the last tenth of steps): vae reconstruction mse {s.FinalVaeLoss:F5}, unet epsilon mse {s.FinalUnetLoss:F5}");
        b.AppendLine("- weights stored as float16 safetensors");
        b.AppendLine(c, $"- latent std {s.LatentStd:F4}, so vae scaling_factor {s.ScalingFactor:F5}");
        b.AppendLine(c, $"- parameters: vae {s.VaeParameters:N0}, unet {s.UnetParameters:N0}, text encoder {s.TextEncoderParameters:N0}; vocabulary {s.VocabularySize} tokens");
        return b.ToString();
    }

    static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>A running mean of the last few values.</summary>
    sealed class Tail(int capacity)
    {
        readonly Queue<double> _values = new();
        public int Count => _values.Count;
        public double Mean => _values.Count == 0 ? double.NaN : _values.Average();

        public void Add(double value)
        {
            _values.Enqueue(value);
            if (_values.Count > capacity) _values.Dequeue();
        }
    }
}
