using System.CommandLine;
using SeLoRA.Diffusion.Inspection;
using SeLoRA.Diffusion.Presets;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>`selora model`: look at Stable Diffusion models, on disk or as preset architectures.</summary>
public static class ModelCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var model = new Command("model", "Inspect Stable Diffusion models: diffusers folders or the sd15 and tiny architectures.");
        model.Subcommands.Add(Inspect(console));
        return model;
    }

    static Command Inspect(IAnsiConsole console)
    {
        var target = new Argument<string>("model")
        {
            Description = $"A diffusers folder (with model_index.json), or a preset architecture: {string.Join(", ", ModelPresets.Names)}.",
        };
        var keys = new Option<bool>("--keys") { Description = "List every tensor as name<TAB>shape (comma-separated), sorted by name." };
        var component = new Option<string?>("--component")
        {
            Description = "Only this component (unet, text_encoder, vae); with --keys, print its list alone, without a heading.",
        };
        var inspect = new Command("inspect",
            "Print each component's class, tensor and parameter counts and dtypes; reads only safetensors headers, or builds a preset without memory.");
        inspect.Arguments.Add(target);
        inspect.Options.Add(keys);
        inspect.Options.Add(component);
        inspect.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var name = parse.GetValue(target)!;
            if (!ModelPresets.IsPreset(name) && !Directory.Exists(name))
                throw new UsageException($"{name}: no such folder, and not a preset ({string.Join(", ", ModelPresets.Names)}).");
            var summaries = ModelInspector.Inspect(name);
            var only = parse.GetValue(component);
            if (only != null)
            {
                summaries = summaries.Where(s => s.Name == only).ToList();
                if (summaries.Count == 0) throw new UsageException($"--component {only}: {name} has no such component.");
            }
            var writer = console.Profile.Out.Writer;
            if (parse.GetValue(keys))
            {
                foreach (var summary in summaries)
                {
                    if (only == null) writer.WriteLine($"# {summary.Name}");
                    foreach (var tensor in summary.Tensors) writer.WriteLine(tensor.Line);
                }
                return 0;
            }
            var table = new Table().AddColumns("component", "class", "tensors", "parameters", "dtype", "source");
            foreach (var s in summaries)
                table.AddRow(Markup.Escape(s.Name), Markup.Escape(s.ClassName), s.Tensors.Count.ToString("N0"), s.Parameters.ToString("N0"),
                    Markup.Escape(string.Join(" ", s.DTypes)), Markup.Escape(s.Source));
            console.Write(table);
            writer.WriteLine($"total parameters: {summaries.Sum(s => s.Parameters):N0}");
            return 0;
        }));
        return inspect;
    }
}
