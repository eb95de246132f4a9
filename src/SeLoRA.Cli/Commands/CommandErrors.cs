using Akka.Configuration;
using SeLoRA.Cluster.Hosting;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>Turns the errors a user can fix into one clear line and exit code 2, instead of a stack trace.</summary>
public static class CommandErrors
{
    public const int UsageError = 2;

    public static int Run(IAnsiConsole console, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is ConfigurationFileException or ConfigurationException or UsageException or FormatException or ArgumentException
                                       or FileNotFoundException or DirectoryNotFoundException or InvalidDataException
                                       or SeLoRA.Torch.Safetensors.WeightFileException or SeLoRA.Data.Datasets.DatasetFormatException or SeLoRA.Diffusion.Loading.StateDictMismatchException
                                       or SeLoRA.Training.Engine.ResumeRefusedException or SeLoRA.Cluster.Coordination.TrainingFailedException or SeLoRA.Training.Checkpoints.CheckpointWriteException
                                       or SeLoRA.Adapters.Persistence.AdapterFileException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return UsageError;
        }
    }
}
