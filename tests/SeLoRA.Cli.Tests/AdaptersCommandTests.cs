namespace SeLoRA.Cli.Tests;

public sealed class AdaptersCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-adapters-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string LastLine(string text) => text.TrimEnd().Split('\n')[^1].Trim();

    [Fact]
    public void The_paper_preset_with_selora_on_sd15_has_475904_trainable_parameters()
    {
        var result = SeloraProcess.Run(_dir, null, "adapters", "plan", "--model", "sd15", "--preset", "selora-paper", "--method", "selora");
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Equal("trainable parameters: 475904", LastLine(result.Stdout));
        Assert.Contains("total: 206 layers", result.Stdout);
        Assert.Contains("text_encoder.text_model.encoder.layers.11.mlp.fc2", result.Stdout);
        Assert.Contains("unet.up_blocks.3.attentions.2.transformer_blocks.0.attn2.to_k", result.Stdout);
        Assert.DoesNotContain("to_out", result.Stdout);
    }

    [Fact]
    public void Rank_methods_and_presets_change_the_count()
    {
        var lora = SeloraProcess.Run(_dir, null, "adapters", "plan", "--model", "sd15", "--preset", "selora-paper", "--method", "lora", "--rank", "4", "--summary");
        Assert.Equal($"trainable parameters: {4 * 475904}", LastLine(lora.Stdout));
        var attn = SeloraProcess.Run(_dir, null, "adapters", "plan", "--model", "sd15", "--preset", "diffusers-attn", "--method", "lora", "--rank", "1", "--summary");
        Assert.Contains("unet: 128 layers", attn.Stdout);
        Assert.DoesNotContain("text_encoder:", attn.Stdout);
        var unetOnly = SeloraProcess.Run(_dir, null, "adapters", "plan", "--model", "sd15", "--no-text-encoder", "--summary");
        Assert.Equal("trainable parameters: 310016", LastLine(unetOnly.Stdout));
    }

    [Fact]
    public void Bad_choices_are_usage_errors()
    {
        var method = SeloraProcess.Run(_dir, null, "adapters", "plan", "--method", "qlora");
        Assert.Equal(2, method.ExitCode);
        Assert.Contains("qlora", method.All);
        var preset = SeloraProcess.Run(_dir, null, "adapters", "plan", "--preset", "everything");
        Assert.Equal(2, preset.ExitCode);
        Assert.Contains("everything", preset.All);
    }
}
