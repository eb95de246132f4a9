using SeLoRA.TestSupport;

namespace SeLoRA.Cli.Tests;

public sealed class PretrainCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-pretrain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_config_file_sets_the_budget_and_flags_override_it()
    {
        Requirements.Require(File.Exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"),
            "Fashion-MNIST (apt-get install dataset-fashion-mnist; .ci/run installs it)");
        var config = Path.Combine(_dir, "budget.hocon");
        File.WriteAllText(config, "selora.pretrain {\n vae-steps = 2\n unet-steps = 3\n image-limit = 64\n latent-pool = 16\n vae-batch = 4\n batch = 4\n}\n");
        var output = Path.Combine(_dir, "base");
        var result = SeloraProcess.Run(_dir, null, "pretrain", "-c", config, "--unet-steps", "2", "--out", output);
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Contains("unet step 2/2", result.Stdout);
        Assert.Contains("vae 2 steps of 4 images", File.ReadAllText(Path.Combine(output, "PRETRAINED.md")));
        Assert.True(File.Exists(Path.Combine(output, "model_index.json")));

        var typo = Path.Combine(_dir, "typo.hocon");
        File.WriteAllText(typo, "selora.pretrain.unet-step = 3\n");
        var bad = SeloraProcess.Run(_dir, null, "pretrain", "-c", typo, "--out", output);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("selora.pretrain.unet-step", bad.All);
    }
}
