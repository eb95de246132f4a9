using System.CommandLine;
using Akka.Configuration;
using SeLoRA.Cluster.Hosting;

namespace SeLoRA.Cli.Commands;

/// <summary>Options every command takes to layer its configuration, and the loading they share.</summary>
public static class ConfigOptions
{
    public static readonly Option<string[]> Files = new("--config", "-c")
    {
        Description = "A HOCON file layered over the defaults; repeat to layer several (last wins).",
        Recursive = true,
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static readonly Option<string[]> Overlays = new("--overlay")
    {
        Description = "A named overlay from hocon/, e.g. roles/worker or persistence/postgres; repeatable.",
        Recursive = true,
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static (Config Config, SeloraSettings Settings) Load(ParseResult parse)
    {
        var config = HoconLoader.Load(HoconLoader.LocateDirectory(),
            parse.GetValue(Overlays) ?? [], parse.GetValue(Files) ?? []);
        return (config, SeloraSettings.From(config));
    }
}
