using System.CommandLine;
using System.CommandLine.Parsing;
using SeLoRA.Cli.CommandClient;
using Spectre.Console;

namespace SeLoRA.Cli.Commands;

/// <summary>
/// `selora cmd [host:port] [palette command args]`: the pbm-style client of a node's command host. Everything after
/// `cmd` is passed through as typed (the command's own -c or --name must not be taken for selora's options), so the
/// words come from the parse's token list rather than from bound options.
/// </summary>
public static class CmdCommand
{
    public static Command Create(IAnsiConsole console)
    {
        var words = new Argument<string[]>("words")
        {
            Description = "[host:port] (default 127.0.0.1:9110), then <palette> <command> [args]; none: an interactive prompt.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var secretFile = new Option<string?>("--secret-file")
        {
            Description = "File holding the host's shared secret (else the SELORA_CMD_SECRET environment variable); give it before the address.",
        };
        var command = new Command("cmd", "Run commands on a node's command host, like pbm: `selora cmd 127.0.0.1:9110 cluster show`; " +
                                         "without a command, an interactive prompt with help, completion and history.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.Arguments.Add(words);
        command.Options.Add(secretFile);
        command.SetAction(parse =>
        {
            var raw = RawWords(parse, command);
            var shell = new CommandShell(Console.In, console.Profile.Out.Writer, Console.Error, terminal: !Console.IsInputRedirected);
            return shell.RunAsync(raw).GetAwaiter().GetResult();
        });
        return command;
    }

    /// <summary>The tokens after `cmd`, in the order typed, whatever selora's parser made of them.</summary>
    static List<string> RawWords(ParseResult parse, Command command)
    {
        var tokens = parse.Tokens;
        var start = 0;
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].Type == TokenType.Command && tokens[i].Value == command.Name)
            {
                start = i + 1;
                break;
            }
        }
        return tokens.Skip(start).Select(t => t.Value).ToList();
    }
}
