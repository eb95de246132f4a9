using System.CommandLine;
using SeLoRA.Data.Datasets;
using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Data.Inspection;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>`selora data`: make the synthetic chest X-ray set, and look at any dataset the readers understand.</summary>
public static class DataCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var data = new Command("data", "Datasets: generate SynthCXR, and inspect IU X-Ray, Montgomery, image folders or SynthCXR.");
        data.Subcommands.Add(SynthCxr(console));
        data.Subcommands.Add(Inspect(console));
        return data;
    }

    static Command SynthCxr(IAnsiConsole console)
    {
        var output = new Option<string>("--out", "-o") { Description = "Folder to write (images, metadata.jsonl, labels.jsonl).", Required = true };
        var count = new Option<int>("--count") { Description = "Number of images.", DefaultValueFactory = _ => 200 };
        var size = new Option<int>("--size") { Description = "Image side in pixels.", DefaultValueFactory = _ => 128 };
        var seed = new Option<long>("--seed") { Description = "Seed; the same seed gives the same bytes.", DefaultValueFactory = _ => 0 };
        var command = new Command("synth-cxr",
            "Write synthetic frontal chest X-rays with known findings (cardiomegaly, effusion, nodule/mass, pneumothorax, devices), " +
            "a radiology-style report each, and ground-truth labels, as an image folder with metadata.jsonl.");
        foreach (var option in new Option[] { output, count, size, seed }) command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var summary = SynthCxrGenerator.Generate(parse.GetValue(output)!, parse.GetValue(count), parse.GetValue(size), parse.GetValue(seed));
            var writer = console.Profile.Out.Writer;
            writer.WriteLine($"wrote {summary.Count} images of {summary.Size}x{summary.Size} to {summary.OutputDirectory} in {summary.Elapsed.TotalSeconds:F1} s (seed {summary.Seed})");
            foreach (var (finding, n) in summary.FindingCounts) writer.WriteLine($"  {finding,-13} {n,6}");
            writer.WriteLine($"read it with --dataset folder:{summary.OutputDirectory}");
            return 0;
        }));
        return command;
    }

    static Command Inspect(IAnsiConsole console)
    {
        var dataset = new Option<string>("--dataset", "-d")
        {
            Description = $"Dataset spec kind:folder, kind one of {string.Join(", ", DatasetFactory.Kinds)} (e.g. folder:./synth, iu-xray:/data/iu).",
            Required = true,
        };
        var grid = new Option<string?>("--grid") { Description = "Write a PNG grid of samples with their prompts to this file." };
        var samples = new Option<int>("--samples") { Description = "Samples in the grid.", DefaultValueFactory = _ => 12 };
        var command = new Command("inspect", "Print a dataset's summary (counts, skipped rows with reasons, prompt lengths) and optionally a sample grid PNG.");
        foreach (var option in new Option[] { dataset, grid, samples }) command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var opened = DatasetFactory.Open(parse.GetValue(dataset)!);
            var writer = console.Profile.Out.Writer;
            writer.Write(opened.Summarize().ToText());
            if (parse.GetValue(grid) is { } path)
            {
                var n = Math.Clamp(parse.GetValue(samples), 1, 64);
                var step = Math.Max(1, opened.Examples.Count / n);
                var picked = opened.Examples.Where((_, i) => i % step == 0).Take(n).ToList();
                SampleGrid.Save(picked, path);
                writer.WriteLine($"grid: {path} ({picked.Count} samples)");
            }
            return 0;
        }));
        return command;
    }
}
