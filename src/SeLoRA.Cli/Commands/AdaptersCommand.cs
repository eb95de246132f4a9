using System.CommandLine;
using SeLoRA.Adapters.Injection;
using SeLoRA.Diffusion.Inspection;
using SeLoRA.Diffusion.Presets;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>`selora adapters`: which layers a method and preset adapt, and what that costs in parameters.</summary>
public static class AdaptersCommand
{
    public static readonly string[] Methods = ["selora", "lora", "dylora", "adalora"];

    public static Command Create(IAnsiConsole console)
    {
        var adapters = new Command("adapters", "Plan and inspect adapters (LoRA, SeLoRA, DyLoRA, AdaLoRA) on Stable Diffusion models.");
        adapters.Subcommands.Add(Plan(console));
        adapters.Subcommands.Add(Report(console));
        return adapters;
    }

    static Command Report(IAnsiConsole console)
    {
        var source = new Argument<string>("adapters") { Description = "A saved adapter file (.safetensors) or a folder of them (PEFT saves one per component)." };
        var png = new Option<string?>("--png") { Description = "Write the rank heat map (the paper's Figure 3 layout) to this PNG file." };
        var csv = new Option<string?>("--csv") { Description = "Write the per-layer table as CSV to this file." };
        var command = new Command("report", "Per-layer ranks of saved adapters: a table with totals, mean rank by kind, and optionally a heat map and CSV.");
        command.Arguments.Add(source);
        command.Options.Add(png);
        command.Options.Add(csv);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var path = parse.GetValue(source)!;
            if (!File.Exists(path) && !Directory.Exists(path)) throw new UsageException($"{path}: no such file or folder.");
            var report = SeLoRA.Adapters.Reporting.RankReport.Create(SeLoRA.Adapters.Reporting.AdapterFileLayers.Read(path));
            var writer = console.Profile.Out.Writer;
            writer.Write(report.ToTable());
            writer.WriteLine();
            writer.Write(report.ToSummaryText());
            if (parse.GetValue(csv) is { } csvPath)
            {
                report.WriteCsv(csvPath);
                writer.WriteLine($"csv: {csvPath}");
            }
            if (parse.GetValue(png) is { } pngPath)
            {
                var rendered = SeLoRA.Adapters.Reporting.RankHeatmap.SavePng(report, pngPath);
                writer.WriteLine($"heat map: {rendered.Path} ({rendered.Width}x{rendered.Height})");
            }
            writer.WriteLine($"trainable parameters: {report.Totals.TrainableParameters}");
            return 0;
        }));
        return command;
    }

    static Command Plan(IAnsiConsole console)
    {
        var model = new Option<string>("--model") { Description = "A diffusers folder, or sd15 / tiny for those architectures.", DefaultValueFactory = _ => ModelPresets.Sd15 };
        var preset = new Option<string>("--preset") { Description = $"Target layers: {string.Join(", ", AdapterPresets.Names)}.", DefaultValueFactory = _ => AdapterPresets.SeLoraPaper };
        var method = new Option<string>("--method") { Description = $"Adapter method: {string.Join(", ", Methods)}.", DefaultValueFactory = _ => "selora" };
        var rank = new Option<int?>("--rank") { Description = "Rank per layer: SeLoRA's initial rank (1), LoRA's rank (8), DyLoRA's r_max (8), AdaLoRA's init_r (12)." };
        var noText = new Option<bool>("--no-text-encoder") { Description = "Adapt the U-Net only." };
        var textPatterns = new Option<string[]>("--text-pattern") { Description = "Glob over text-encoder module names; replaces the preset's (repeatable).", Arity = ArgumentArity.ZeroOrMore };
        var unetPatterns = new Option<string[]>("--unet-pattern") { Description = "Glob over U-Net module names; replaces the preset's (repeatable).", Arity = ArgumentArity.ZeroOrMore };
        var quiet = new Option<bool>("--summary") { Description = "Totals only, without the per-layer lines." };
        var command = new Command("plan",
            "Print the layers a preset adapts, with in/out features and ranks, and end with `trainable parameters: N`. No weights are read.");
        foreach (var option in new Option[] { model, preset, method, rank, noText, textPatterns, unetPatterns, quiet }) command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var methodName = parse.GetValue(method)!.ToLowerInvariant();
            if (!Methods.Contains(methodName)) throw new UsageException($"--method {methodName}: expected one of {string.Join(", ", Methods)}.");
            var presetName = parse.GetValue(preset)!;
            if (!AdapterPresets.IsPreset(presetName)) throw new UsageException($"--preset {presetName}: expected one of {string.Join(", ", AdapterPresets.Names)}.");
            var r = parse.GetValue(rank) ?? methodName switch { "selora" => 1, "adalora" => 12, _ => 8 };
            if (r < 1) throw new UsageException($"--rank {r}: must be at least 1.");
            var text = parse.GetValue(textPatterns) is { Length: > 0 } t ? t : null;
            var unet = parse.GetValue(unetPatterns) is { Length: > 0 } u ? u : null;
            var targets = AdapterPresets.Resolve(presetName, text, unet, parse.GetValue(noText) ? false : null);
            var name = parse.GetValue(model)!;
            if (!ModelPresets.IsPreset(name) && !Directory.Exists(name))
                throw new UsageException($"--model {name}: no such folder, and not a preset ({string.Join(", ", ModelPresets.Names)}).");
            // AdaLoRA adds a singular value per rank (E); the others are r (in + out).
            Func<long, long, int, long>? count = methodName == "adalora" ? (i, o, k) => k * (i + o) + k : null;
            using var skeleton = ModelSkeleton.Build(name);
            var plan = AdapterPlan.ForPair(skeleton.TextEncoder, skeleton.Unet, targets, r, count);
            var writer = console.Profile.Out.Writer;
            writer.WriteLine($"model {name}, preset {targets.Name}, method {methodName}, rank {r}");
            writer.Write(plan.Format(perLayer: !parse.GetValue(quiet)));
            writer.WriteLine($"trainable parameters: {plan.TrainableParameters}");
            return 0;
        }));
        return command;
    }
}
