using SeLoRA.Data.Pretraining;
using SeLoRA.TestSupport;
using SeLoRA.Training.Pretraining;

namespace SeLoRA.Training.Tests.Pretraining;

public sealed class PretrainerTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("selora-pretrain-test-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static PretrainOptions Tiny(long seed) => new()
    {
        Seed = seed, VaeSteps = 3, UnetSteps = 4, VaeBatchSize = 2, BatchSize = 4, ImageLimit = 16, LatentPool = 16, LogEvery = 1,
    };

    static void RequireCorpus()
    {
        var path = Path.Combine(FashionMnist.DefaultFolder, "train-images-idx3-ubyte.gz");
        Requirements.Require(File.Exists(path), $"{path} is missing: apt-get install {FashionMnist.DebianPackage}");
    }

    static Dictionary<string, byte[]> Weights(string folder) =>
        Directory.EnumerateFiles(folder, "*.safetensors", SearchOption.AllDirectories)
            .ToDictionary(p => Path.GetRelativePath(folder, p), File.ReadAllBytes);

    [Fact]
    public void The_same_seed_gives_the_same_weights_and_another_seed_does_not()
    {
        RequireCorpus();
        var log = new List<string>();
        var first = Pretrainer.Run(Tiny(7), Path.Combine(_folder, "a"), log.Add);
        Pretrainer.Run(Tiny(7), Path.Combine(_folder, "b"));
        Pretrainer.Run(Tiny(8), Path.Combine(_folder, "c"));

        var a = Weights(first.Folder);
        Assert.Equal(["text_encoder/model.safetensors", "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors"],
            a.Keys.Order());
        var b = Weights(Path.Combine(_folder, "b"));
        foreach (var (file, bytes) in a) Assert.True(bytes.AsSpan().SequenceEqual(b[file]), $"{file} differs between two runs with seed 7");
        var c = Weights(Path.Combine(_folder, "c"));
        Assert.False(a["unet/diffusion_pytorch_model.safetensors"].AsSpan().SequenceEqual(c["unet/diffusion_pytorch_model.safetensors"]));

        Assert.Contains(log, l => l.StartsWith("vae step 3/3", StringComparison.Ordinal));
        Assert.Contains(log, l => l.StartsWith("unet step 4/4", StringComparison.Ordinal));
        Assert.True(double.IsFinite(first.FinalVaeLoss) && double.IsFinite(first.FinalUnetLoss));
        Assert.True(first.UnetParameters > 100_000 && first.VaeParameters > 100_000 && first.TextEncoderParameters > 10_000);
        Assert.Equal(first.FolderBytes, new DirectoryInfo(first.Folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length));
        var record = File.ReadAllText(Path.Combine(first.Folder, Pretrainer.RecordFile));
        Assert.Contains("seed: 7", record);
        Assert.Contains(FashionMnist.DebianPackage, record);
        var vaeConfig = File.ReadAllText(Path.Combine(first.Folder, "vae", "config.json"));
        Assert.Contains($"\"scaling_factor\": {Math.Round(first.ScalingFactor, 5).ToString(System.Globalization.CultureInfo.InvariantCulture)}", vaeConfig);
    }

    [Fact]
    public void Bad_options_name_the_field()
    {
        Assert.Contains("vae steps", Assert.Throws<ArgumentException>(() => Pretrainer.Run(Tiny(1) with { VaeSteps = 0 }, _folder)).Message);
        Assert.Contains("prompt dropout", Assert.Throws<ArgumentException>(() => Pretrainer.Run(Tiny(1) with { PromptDropout = 1 }, _folder)).Message);
        Assert.Contains("apt-get install dataset-fashion-mnist",
            Assert.Throws<FileNotFoundException>(() => Pretrainer.Run(Tiny(1) with { CorpusFolder = Path.Combine(_folder, "none") }, _folder)).Message);
    }
}
