using System.CommandLine;
using Spectre.Console;

namespace SeLoRA.Cli.Tests;

public class CommandTreeTests
{
    static IEnumerable<(string[] Path, Command Command)> Walk(Command command, string[] path)
    {
        yield return (path, command);
        foreach (var sub in command.Subcommands)
            foreach (var nested in Walk(sub, [.. path, sub.Name]))
                yield return nested;
    }

    static (int Exit, string Output) Invoke(params string[] args)
    {
        var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(text), Ansi = AnsiSupport.No });
        var exit = SeloraCommandLine.Build(console).Parse(args).Invoke(new InvocationConfiguration { Output = text, Error = text });
        return (exit, text.ToString());
    }

    [Fact]
    public void Every_command_has_a_description_and_prints_help()
    {
        var commands = Walk(SeloraCommandLine.Build(AnsiConsole.Console), []).ToList();
        Assert.Contains(commands, c => c.Path is ["doctor"]);
        Assert.Contains(commands, c => c.Path is ["config", "show"]);
        foreach (var (path, command) in commands)
        {
            Assert.False(string.IsNullOrWhiteSpace(command.Description), $"'{string.Join(' ', path)}' has no description");
            var (exit, output) = Invoke([.. path, "--help"]);
            Assert.Equal(0, exit);
            Assert.Contains("Usage:", output);
            Assert.Contains(command.Description!.Split(' ')[0], output);
        }
    }

    [Fact]
    public void Version_prints_the_product_version()
    {
        var (exit, output) = Invoke("--version");
        Assert.Equal(0, exit);
        Assert.StartsWith("0.1.0", output.Trim());
    }

    [Fact]
    public void An_unknown_command_is_a_usage_error()
    {
        var (exit, output) = Invoke("docter");
        Assert.NotEqual(0, exit);
        Assert.Contains("docter", output);
    }
}
