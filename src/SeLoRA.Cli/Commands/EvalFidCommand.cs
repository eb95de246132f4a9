using SeLoRA.Evaluation.FeatureNetworks;
using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SeLoRA.Evaluation.Fid;
using SeLoRA.Evaluation.Reports;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>
/// `selora eval fid`: the Fréchet distance between a folder of real and a folder of generated images, named by its
/// network: "FD-ResNet18" with the offline default, "FID" only with pytorch-fid's InceptionV3 weights.
/// </summary>
public static class EvalFidCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var real = new Option<string>("--real") { Description = "Folder of real images (PNG/JPEG files directly in it, read in name order).", Required = true };
        var generated = new Option<string>("--generated") { Description = "Folder of generated images.", Required = true };
        var features = new Option<string>("--features")
        {
            Description = "Feature network: resnet18 (offline default; reported as FD-ResNet18) or inception:<weights file> " +
                          "(pytorch-fid's InceptionV3 as safetensors; reported as FID).",
            DefaultValueFactory = _ => FeatureNetworkFactory.ResNet18,
        };
        var batch = new Option<int>("--batch") { Description = "Images per network call.", DefaultValueFactory = _ => ImageSetFeatures.DefaultBatchSize };
        var cache = new Option<string?>("--cache") { Description = "Folder to keep the real images' feature statistics in, keyed by network and image contents." };
        var json = new Option<string?>("--json") { Description = "Also write the result, with its parts, as JSON to this file." };
        var command = new Command("fid",
            "Fréchet distance between real and generated image folders: FD-ResNet18 by default, FID with pytorch-fid's Inception weights.");
        foreach (var option in new Option[] { real, generated, features, batch, cache, json }) command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var size = parse.GetValue(batch);
            if (size < 1) throw new UsageException($"--batch {size}: must be at least 1.");
            var realFolder = parse.GetValue(real)!;
            var generatedFolder = parse.GetValue(generated)!;
            // List both folders before loading a network, so a wrong folder fails at once.
            var realFiles = ImageSetFeatures.ListImages(realFolder);
            var generatedFiles = ImageSetFeatures.ListImages(generatedFolder);
            var writer = console.Profile.Out.Writer;
            var watch = Stopwatch.StartNew();
            using var network = FeatureNetworkFactory.Create(parse.GetValue(features)!);
            var metric = FeatureNetworkFactory.MetricName(network);
            writer.WriteLine($"{metric}: {network.Name}, {network.Dimension}-d features; {network.Preprocessing}");
            var report = FolderFrechet.Compute(network, realFiles, generatedFiles, size, parse.GetValue(cache));
            writer.WriteLine($"real:      {realFolder} ({report.RealCount} images)");
            writer.WriteLine($"generated: {generatedFolder} ({report.GeneratedCount} images)");
            writer.WriteLine(FormattableString.Invariant(
                $"parts: |mu_r - mu_g|^2 {report.MeanTerm:F4}, Tr(S_r) {report.TraceReal:F4}, Tr(S_g) {report.TraceGenerated:F4}, Tr(sqrt(S_r S_g)) {report.TraceSqrtProduct:F4}"));
            if (report.Note is { } note) writer.WriteLine($"note: {note}");
            writer.WriteLine(FormattableString.Invariant($"{report.Describe()} in {watch.Elapsed.TotalSeconds:F1} s"));
            if (parse.GetValue(json) is { } path)
            {
                var node = JsonSerializer.SerializeToNode(report, EvaluationReport.Json)!.AsObject();
                node["real_folder"] = Path.GetFullPath(realFolder);
                node["generated_folder"] = Path.GetFullPath(generatedFolder);
                var directory = Path.GetDirectoryName(Path.GetFullPath(path));
                if (directory is not null) Directory.CreateDirectory(directory);
                File.WriteAllText(path, node.ToJsonString(EvaluationReport.Json) + Environment.NewLine);
                writer.WriteLine($"wrote {path}");
            }
            return 0;
        }));
        return command;
    }
}
