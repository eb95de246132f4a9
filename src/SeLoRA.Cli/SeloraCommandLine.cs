using System.CommandLine;
using SeLoRA.Cli.Commands;
using Spectre.Console;

namespace SeLoRA.Cli;

/// <summary>The `selora` command tree. Commands parse and present; the libraries do the work.</summary>
public static class SeloraCommandLine
{
    public static RootCommand Build(IAnsiConsole console)
    {
        var root = new RootCommand(
            "SeLoRA.Cluster: fine-tune Stable Diffusion with self-expanding LoRA on an Akka.NET cluster, and evaluate it.");
        root.Options.Add(ConfigOptions.Files);
        root.Options.Add(ConfigOptions.Overlays);
        root.Subcommands.Add(DoctorCommand.Create(console));
        root.Subcommands.Add(ConfigCommand.Create(console));
        root.Subcommands.Add(ModelCommand.Create(console));
        root.Subcommands.Add(GenerateCommand.Create(console));
        root.Subcommands.Add(AdaptersCommand.Create(console));
        root.Subcommands.Add(DataCommand.Create(console));
        root.Subcommands.Add(BenchCommand.Create(console));
        root.Subcommands.Add(PretrainCommand.Create(console));
        root.Subcommands.Add(TrainCommand.Create(console));
        root.Subcommands.Add(TrainCommand.CreateQuickstart(console));
        root.Subcommands.Add(NodeCommand.Create(console));
        root.Subcommands.Add(CmdCommand.Create(console));
        root.Subcommands.Add(EvalCommand.Create(console));
        root.Subcommands.Add(ResultsCommand.Create(console));
        return root;
    }
}
