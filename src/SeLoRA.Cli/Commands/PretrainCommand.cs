using System.CommandLine;
using SeLoRA.Training.Pretraining;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>`selora pretrain`: trains the project's own tiny base model from scratch on Fashion-MNIST.</summary>
public static class PretrainCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var output = new Option<string>("--out", "-o") { Description = "Folder for the diffusers-layout model (replaced if present).", DefaultValueFactory = _ => "tiny-base" };
        var seed = new Option<long?>("--seed") { Description = "Seed of initialisation, batches and noise (selora.pretrain.seed, default 0)." };
        var quick = new Option<bool>("--quick") { Description = "A budget of under a minute (barely trained; for tests and smoke runs)." };
        var vaeSteps = new Option<int?>("--vae-steps") { Description = "VAE training steps (default 300, quick 40)." };
        var unetSteps = new Option<int?>("--unet-steps") { Description = "U-Net and text encoder training steps (default 1500, quick 60)." };
        var batch = new Option<int?>("--batch") { Description = "Images per step for both phases (default: VAE 16, U-Net 32)." };
        var corpus = new Option<string?>("--corpus") { Description = "Folder of the Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist)." };
        var command = new Command("pretrain", "Train the tiny base model (VAE, U-Net, text encoder, tokenizer) from scratch on Fashion-MNIST.");
        foreach (var option in new Option[] { output, seed, quick, vaeSteps, unetSteps, batch, corpus })
            command.Options.Add(option);
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            // selora.pretrain in the layered HOCON (-c, --overlay) first, then --quick's budget, then explicit flags.
            var (config, _) = ConfigOptions.Load(parse);
            var limit = config.GetInt("selora.pretrain.image-limit");
            var options = new PretrainOptions
            {
                Seed = config.GetLong("selora.pretrain.seed"),
                VaeSteps = config.GetInt("selora.pretrain.vae-steps"),
                UnetSteps = config.GetInt("selora.pretrain.unet-steps"),
                VaeBatchSize = config.GetInt("selora.pretrain.vae-batch"),
                BatchSize = config.GetInt("selora.pretrain.batch"),
                VaeLearningRate = config.GetDouble("selora.pretrain.vae-learning-rate"),
                UnetLearningRate = config.GetDouble("selora.pretrain.unet-learning-rate"),
                KlWeight = config.GetDouble("selora.pretrain.kl-weight"),
                PromptDropout = config.GetDouble("selora.pretrain.prompt-dropout"),
                ImageLimit = limit > 0 ? limit : null,
                LatentPool = config.GetInt("selora.pretrain.latent-pool"),
                CorpusFolder = config.GetString("selora.pretrain.corpus"),
            };
            if (parse.GetValue(quick))
            {
                var q = PretrainOptions.Quick;
                options = options with { VaeSteps = q.VaeSteps, UnetSteps = q.UnetSteps, VaeBatchSize = q.VaeBatchSize, BatchSize = q.BatchSize, ImageLimit = q.ImageLimit, LogEvery = q.LogEvery };
            }
            options = options with
            {
                Seed = parse.GetValue(seed) ?? options.Seed,
                VaeSteps = parse.GetValue(vaeSteps) ?? options.VaeSteps,
                UnetSteps = parse.GetValue(unetSteps) ?? options.UnetSteps,
                BatchSize = parse.GetValue(batch) ?? options.BatchSize,
                VaeBatchSize = parse.GetValue(batch) ?? options.VaeBatchSize,
                CorpusFolder = parse.GetValue(corpus) ?? options.CorpusFolder,
                Command = "selora " + string.Join(' ', parse.Tokens.Select(t => t.Value.Contains(' ') ? $"\"{t.Value}\"" : t.Value)),
            };
            var writer = console.Profile.Out.Writer;
            var summary = Pretrainer.Run(options, parse.GetValue(output)!, writer.WriteLine);
            writer.WriteLine($"wrote {summary.Folder} ({summary.FolderBytes / 1024.0 / 1024.0:F2} MiB) in {summary.Elapsed.TotalSeconds:F0} s " +
                             $"(vae {summary.VaeElapsed.TotalSeconds:F0} s, unet {summary.UnetElapsed.TotalSeconds:F0} s)");
            writer.WriteLine($"final losses: vae mse {summary.FinalVaeLoss:F5}, unet eps mse {summary.FinalUnetLoss:F5}; scaling_factor {summary.ScalingFactor:F5}");
            writer.WriteLine($"parameters: vae {summary.VaeParameters:N0}, unet {summary.UnetParameters:N0}, text encoder {summary.TextEncoderParameters:N0}");
            return 0;
        }));
        return command;
    }
}
