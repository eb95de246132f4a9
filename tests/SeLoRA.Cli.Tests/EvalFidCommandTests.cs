using System.CommandLine;
using System.Text.Json;
using SeLoRA.Cli.Commands;
using SeLoRA.Diffusion.Imaging;
using SeLoRA.Torch;
using Spectre.Console;
using static TorchSharp.torch;

namespace SeLoRA.Cli.Tests;

public sealed class EvalFidCommandTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("selora-eval-fid-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Runs `fid` as the parsed command itself (its parent `eval` is attached elsewhere).</summary>
    static (int Exit, string Output) Invoke(params string[] args)
    {
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(text), Ansi = AnsiSupport.No });
        var command = EvalFidCommand.Create(console);
        var exit = command.Parse(args).Invoke(new InvocationConfiguration { Output = text, Error = text });
        return (exit, text.ToString());
    }

    string Folder(string name, int count, Func<int, Tensor> image)
    {
        TorchRuntime.EnsureLoaded();
        var folder = Path.Combine(dir, name);
        for (var i = 0; i < count; i++)
        {
            using var t = image(i);
            ImageFiles.SavePng(t, Path.Combine(folder, $"{i:D2}.png"));
        }
        return folder;
    }

    [Fact]
    public void Resnet18_is_reported_as_FD_ResNet18_never_FID()
    {
        var generator = new Generator(5);
        var noise = Folder("noise", 4, _ => rand([3, 24, 24], generator: generator));
        var flat = Folder("flat", 4, i => full([3, 24, 24], 0.2 + 0.15 * i));
        var json = Path.Combine(dir, "out", "fd.json");
        var (exit, output) = Invoke("--real", noise, "--generated", flat, "--batch", "3", "--json", json);
        Assert.True(exit == 0, output);
        Assert.Contains("FD-ResNet18 ", output);
        Assert.Contains("ResNet18 (ImageNet, ONNX), bilinear 224, 4 real vs 4 generated images", output);
        Assert.Contains("bilinear resize to 224x224", output);
        Assert.DoesNotContain("FID", output);

        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var root = document.RootElement;
        Assert.Equal("FD-ResNet18", root.GetProperty("metric").GetString());
        Assert.Equal("fd-resnet18", root.GetProperty("metric_key").GetString());
        Assert.Equal(4, root.GetProperty("real_count").GetInt64());
        var value = root.GetProperty("value").GetDouble();
        Assert.True(value > 0, $"FD {value}");
        // The value is its parts put together: |mu_r - mu_g|^2 + Tr(S_r) + Tr(S_g) - 2 Tr(sqrt(S_r S_g)).
        var parts = root.GetProperty("mean_term").GetDouble() + root.GetProperty("trace_real").GetDouble()
                    + root.GetProperty("trace_generated").GetDouble() - 2 * root.GetProperty("trace_sqrt_product").GetDouble();
        Assert.Equal(value, parts, 1e-9 * Math.Max(1, value));
    }

    [Fact]
    public void A_missing_folder_is_named_and_exits_non_zero()
    {
        var present = Folder("present", 2, i => full([3, 8, 8], 0.1 * (i + 1)));
        var missing = Path.Combine(dir, "no-such-images");
        var (exit, output) = Invoke("--real", missing, "--generated", present);
        Assert.Equal(CommandErrors.UsageError, exit);
        Assert.Contains(missing, output);

        var (exit2, output2) = Invoke("--real", present, "--generated", missing);
        Assert.NotEqual(0, exit2);
        Assert.Contains(missing, output2);
    }

    [Fact]
    public void Too_few_images_bad_features_and_bad_batch_are_usage_errors()
    {
        var two = Folder("two", 2, i => full([3, 8, 8], 0.1 * (i + 1)));
        var one = Folder("one", 1, _ => full([3, 8, 8], 0.5));
        var (exit, output) = Invoke("--real", two, "--generated", one);
        Assert.Equal(CommandErrors.UsageError, exit);
        Assert.Contains(one, output);

        var (exit2, output2) = Invoke("--real", two, "--generated", two, "--features", "vgg16");
        Assert.Equal(CommandErrors.UsageError, exit2);
        Assert.Contains("vgg16", output2);
        Assert.Contains("inception:<weights file>", output2);

        var (exit3, output3) = Invoke("--real", two, "--generated", two, "--batch", "0");
        Assert.Equal(CommandErrors.UsageError, exit3);
        Assert.Contains("--batch", output3);

        var weights = Path.Combine(dir, "no-inception.safetensors");
        var (exit4, output4) = Invoke("--real", two, "--generated", two, "--features", "inception:" + weights);
        Assert.Equal(CommandErrors.UsageError, exit4);
        Assert.Contains("no-inception.safetensors", output4);
    }
}
