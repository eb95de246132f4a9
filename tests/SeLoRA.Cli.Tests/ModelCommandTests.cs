using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Diffusion.Presets;
using SeLoRA.Diffusion.Tokenization;
using SeLoRA.TestSupport;

namespace SeLoRA.Cli.Tests;

public sealed class ModelCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-model-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("unet")]
    [InlineData("text_encoder")]
    [InlineData("vae")]
    public void Inspect_sd15_keys_prints_exactly_the_reference_list(string component)
    {
        var expected = File.ReadAllText(RepoPaths.RequireShared($"sd15/{component}.keys.tsv"));
        var result = SeloraProcess.Run(_dir, null, "model", "inspect", "sd15", "--keys", "--component", component);
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Equal(expected, result.Stdout);
    }

    [Fact]
    public void Inspect_sd15_prints_the_parameter_totals()
    {
        var result = SeloraProcess.Run(_dir, null, "model", "inspect", "sd15");
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains("859,520,964", result.Stdout);
        Assert.Contains("123,060,480", result.Stdout);
        Assert.Contains("83,653,863", result.Stdout);
        Assert.Contains("total parameters: 1,066,235,307", result.Stdout);
    }

    [Fact]
    public void Inspect_a_saved_folder_reads_its_headers()
    {
        var vocab = Path.Combine(_dir, "vocab");
        ClipVocabularyBuilder.WriteFolder(ClipVocabularyBuilder.Learn(["a chest x-ray"], 8), vocab);
        var folder = Path.Combine(_dir, "tiny");
        long unetParameters, unetTensors;
        using (var models = StableDiffusionModels.Create(ModelPresets.Tiny, vocab, seed: 3))
        {
            models.Save(folder);
            unetParameters = models.Unet.parameters().Sum(p => p.numel());
            unetTensors = models.Unet.state_dict().Count;
        }
        var result = SeloraProcess.Run(_dir, null, "model", "inspect", folder);
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains(unetParameters.ToString("N0"), result.Stdout);
        Assert.Contains("CLIPTextModel", result.Stdout);

        var keys = SeloraProcess.Run(_dir, null, "model", "inspect", folder, "--keys", "--component", "unet");
        Assert.Equal(unetTensors, keys.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("conv_in.weight\t32,4,3,3", keys.Stdout);
    }

    [Fact]
    public void Unknown_models_and_components_are_clear_errors()
    {
        var missing = SeloraProcess.Run(_dir, null, "model", "inspect", "no-such-folder");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no-such-folder", missing.All);
        var component = SeloraProcess.Run(_dir, null, "model", "inspect", "tiny", "--component", "unte");
        Assert.Equal(2, component.ExitCode);
        Assert.Contains("unte", component.All);
    }

    [Fact]
    public void Generate_writes_seeded_pngs_from_a_saved_folder()
    {
        var vocab = Path.Combine(_dir, "vocab");
        ClipVocabularyBuilder.WriteFolder(ClipVocabularyBuilder.Learn(["a chest x-ray"], 8), vocab);
        var folder = Path.Combine(_dir, "tiny");
        using (var models = StableDiffusionModels.Create(ModelPresets.Tiny, vocab, seed: 4)) models.Save(folder);

        var first = SeloraProcess.Run(_dir, null, "generate", "-m", folder, "-p", "a chest x-ray", "-p", "pleural effusion",
            "--steps", "3", "--scheduler", "ddim", "--seed", "9", "-o", Path.Combine(_dir, "a"));
        Assert.True(first.ExitCode == 0, first.All);
        Assert.Contains("step 3/3", first.Stdout);
        var files = Directory.GetFiles(Path.Combine(_dir, "a"), "*.png").Order().ToList();
        Assert.Equal(["0000_a-chest-x-ray.png", "0001_pleural-effusion.png"], files.Select(Path.GetFileName));

        var again = SeloraProcess.Run(_dir, null, "generate", "-m", folder, "-p", "a chest x-ray", "-p", "pleural effusion",
            "--steps", "3", "--scheduler", "ddim", "--seed", "9", "--batch", "2", "-o", Path.Combine(_dir, "b"));
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Equal(File.ReadAllBytes(files[1]), File.ReadAllBytes(Path.Combine(_dir, "b", "0001_pleural-effusion.png")));

        var bad = SeloraProcess.Run(_dir, null, "generate", "-m", folder, "-p", "x", "--height", "30", "-o", Path.Combine(_dir, "c"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("height", bad.All);
    }
}
