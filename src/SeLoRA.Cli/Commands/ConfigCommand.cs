using System.CommandLine;
using SeLoRA.Cluster.Hosting;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>`selora config`: shows the configuration a command would run with, and the overlays there are.</summary>
public static class ConfigCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var config = new Command("config", "Inspect the layered HOCON configuration.");

        var show = new Command("show", "Print the effective \"selora\" settings after layering base.hocon, overlays and --config files.");
        var all = new Option<bool>("--all") { Description = "Also print the akka section." };
        show.Options.Add(all);
        show.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var (merged, _) = ConfigOptions.Load(parse);
            var writer = console.Profile.Out.Writer;
            if (parse.GetValue(all)) writer.WriteLine(merged.Root.ToString(1));
            else writer.WriteLine("selora " + merged.GetConfig("selora").Root.ToString(1));
            return 0;
        }));

        var overlays = new Command("overlays", "List the named overlays under hocon/ that --overlay accepts.");
        overlays.SetAction(parse => CommandErrors.Run(console, () =>
        {
            var directory = HoconLoader.LocateDirectory();
            console.Profile.Out.Writer.WriteLine($"hocon folder: {directory}");
            foreach (var name in HoconLoader.AvailableOverlays(directory)) console.Profile.Out.Writer.WriteLine("  " + name);
            return 0;
        }));

        config.Subcommands.Add(show);
        config.Subcommands.Add(overlays);
        return config;
    }
}
