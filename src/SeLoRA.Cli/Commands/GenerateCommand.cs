using System.CommandLine;
using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Torch.Devices;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>`selora generate`: images from prompts with a diffusers folder, seeded and reproducible.</summary>
public static class GenerateCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var model = new Option<string>("--model", "-m") { Description = "A diffusers folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/).", Required = true };
        var prompts = new Option<string[]>("--prompt", "-p") { Description = "A prompt; repeat for several.", Arity = ArgumentArity.ZeroOrMore };
        var promptsFile = new Option<string?>("--prompts-file") { Description = "A text file with one prompt per line." };
        var negative = new Option<string>("--negative") { Description = "Negative prompt (the unconditional input of guidance).", DefaultValueFactory = _ => "" };
        var steps = new Option<int>("--steps") { Description = "Denoising steps.", DefaultValueFactory = _ => 50 };
        var guidance = new Option<double>("--guidance") { Description = "Classifier-free guidance scale; 1 or less turns it off.", DefaultValueFactory = _ => 7.5 };
        var seed = new Option<long>("--seed") { Description = "Seed; image k always gets the same starting noise for a seed.", DefaultValueFactory = _ => 0 };
        var height = new Option<int?>("--height") { Description = "Image height in pixels (default: the model's native size)." };
        var width = new Option<int?>("--width") { Description = "Image width in pixels (default: the model's native size)." };
        var batch = new Option<int>("--batch") { Description = "Images denoised together.", DefaultValueFactory = _ => 1 };
        var perPrompt = new Option<int>("--images-per-prompt") { Description = "Images per prompt.", DefaultValueFactory = _ => 1 };
        var scheduler = new Option<string>("--scheduler") { Description = "pndm (SD1.5's default) or ddim.", DefaultValueFactory = _ => "pndm" };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N.", DefaultValueFactory = _ => "auto" };
        var output = new Option<string>("--out", "-o") { Description = "Folder for the PNG files.", Required = true };
        var command = new Command("generate", "Generate images from text prompts with a Stable Diffusion folder and save them as PNG files.");
        foreach (var option in new Option[] { model, prompts, promptsFile, negative, steps, guidance, seed, height, width, batch, perPrompt, scheduler, device, output })
            command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var list = (parse.GetValue(prompts) ?? []).ToList();
            if (parse.GetValue(promptsFile) is { } file)
            {
                if (!File.Exists(file)) throw new UsageException($"--prompts-file {file}: file not found.");
                list.AddRange(File.ReadAllLines(file).Where(l => l.Trim().Length > 0));
            }
            if (list.Count == 0) throw new UsageException("give at least one --prompt or a --prompts-file.");
            var target = DevicePicker.Pick(parse.GetValue(device)!, "--device");
            using var models = StableDiffusionModels.Load(parse.GetValue(model)!);
            models.To(target);
            var native = (int)(models.Unet.Config.SampleSize ?? models.Vae.Config.SampleSize / models.Vae.Config.DownsampleFactor) * models.Vae.Config.DownsampleFactor;
            var request = new GenerationRequest
            {
                Prompts = list,
                NegativePrompt = parse.GetValue(negative)!,
                Steps = parse.GetValue(steps),
                Guidance = parse.GetValue(guidance),
                Seed = parse.GetValue(seed),
                Height = parse.GetValue(height) ?? native,
                Width = parse.GetValue(width) ?? native,
                BatchSize = parse.GetValue(batch),
                ImagesPerPrompt = parse.GetValue(perPrompt),
                Scheduler = parse.GetValue(scheduler)!,
            };
            var writer = console.Profile.Out.Writer;
            var progress = new LineProgress(p =>
            {
                if (p.Step == p.Steps || p.Step % 10 == 0)
                    writer.WriteLine($"images {p.First + 1}-{p.First + p.Count} of {p.Total}: step {p.Step}/{p.Steps}");
            });
            var paths = new StableDiffusionPipeline(models, target).GenerateToFolder(request, parse.GetValue(output)!, progress);
            foreach (var path in paths) writer.WriteLine(path);
            return 0;
        }));
        return command;
    }

    /// <summary>Reports on the calling thread, so progress lines come out in order (Progress&lt;T&gt; would post them).</summary>
    sealed class LineProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
