using System.Diagnostics;
using SeLoRA.TestSupport;

namespace SeLoRA.Cli.Tests;

/// <summary>Runs the built `selora` program as a separate process, as a user would.</summary>
public static class SeloraProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string All => Stdout + Stderr;
    }

    static string Program
    {
        get
        {
            // The test and the CLI are built in the same configuration: .../bin/<Configuration>/net10.0/.
            var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = framework.Parent!.Name;
            return Path.Combine(RepoPaths.Root, "src", "SeLoRA.Cli", "bin", configuration, framework.Name, "selora.dll");
        }
    }

    public static Result Run(string workingDirectory, IDictionary<string, string?>? environment, params string[] args)
    {
        using var process = Start(workingDirectory, environment, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"selora {string.Join(' ', args)} did not finish in 2 minutes");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Starts the program without waiting; the caller reads its output and disposes it.</summary>
    public static Process Start(string workingDirectory, IDictionary<string, string?>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Program);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment.Remove("SELORA_POSTGRES");
        start.Environment.Remove("SELORA_HOCON_DIR");
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>()) start.Environment[key] = value;
        return Process.Start(start)!;
    }
}
