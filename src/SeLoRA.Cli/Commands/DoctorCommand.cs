using System.CommandLine;
using SeLoRA.Cluster.Diagnostics;
using SeLoRA.Cluster.Hosting;
using Serilog;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>`selora doctor`: checks the runtime, TorchSharp, throughput and storage, each with a fix on failure.</summary>
public static class DoctorCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var command = new Command("doctor",
            "Check this machine: .NET, TorchSharp's native library and devices, matmul GFLOP/s, SQLite, and PostgreSQL if configured. " +
            "Exits 1 when a check fails.");
        command.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var (_, settings) = ConfigOptions.Load(parse);
            using var logger = SeloraLogging.Install(settings, LogScope.For(settings));
            console.MarkupLine($"[bold]selora doctor[/] {Markup.Escape(VersionInfo.Text)}  (node {Markup.Escape(settings.NodeName)}, data {Markup.Escape(settings.DataDirectory)})");
            var failed = 0;
            foreach (var check in Doctor.RunAll(settings))
            {
                var tag = check.Status switch
                {
                    CheckStatus.Ok => "[green]OK  [/]",
                    CheckStatus.Skipped => "[grey]SKIP[/]",
                    _ => "[red]FAIL[/]",
                };
                console.MarkupLine($"  {tag}  {Markup.Escape(check.Name.PadRight(13))} {Markup.Escape(check.Detail)}");
                if (check.Fix != null) console.MarkupLine($"        {"",-13} [yellow]fix:[/] {Markup.Escape(check.Fix)}");
                if (check.Status == CheckStatus.Failed)
                {
                    failed++;
                    Log.Warning("doctor check {Check} failed: {Detail}", check.Name, check.Detail);
                }
            }
            console.MarkupLine(failed == 0 ? "[green]All checks passed.[/]" : $"[red]{failed} check(s) failed.[/]");
            Log.Information("doctor finished with {Failed} failed check(s)", failed);
            Log.CloseAndFlush();
            return failed == 0 ? 0 : 1;
        }));
        return command;
    }
}
