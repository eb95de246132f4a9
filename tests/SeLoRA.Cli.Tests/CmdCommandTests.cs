using System.Diagnostics;
using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Configuration;
using SeLoRA.Cli.CommandClient;
using SeLoRA.Cluster.Commands;
using SeLoRA.TestSupport;

namespace SeLoRA.Cli.Tests;

/// <summary>`selora cmd` as a separate process against a command host started in the test process.</summary>
public sealed class CmdCommandTests : IDisposable
{
    const string Secret = "a shared secret for the cli tests";

    readonly ActorSystem system = ActorSystem.Create("cmdcli", ConfigurationFactory.ParseString("akka.loglevel = ERROR\nakka.stdout-loglevel = ERROR"));
    readonly string dir = Directory.CreateTempSubdirectory("selora-cmd-").FullName;
    readonly CommandHostHandle host;
    readonly CommandHostHandle securedHost;

    public CmdCommandTests()
    {
        host = CommandHost.Start(system, new CommandHostSettings { Port = 0 }, [new EchoPalette()]);
        securedHost = CommandHost.Start(system, new CommandHostSettings { Port = 0, Secret = Secret }, [new EchoPalette()]);
    }

    public void Dispose()
    {
        host.Dispose();
        securedHost.Dispose();
        system.Terminate().Wait(TimeSpan.FromSeconds(10));
        Directory.Delete(dir, recursive: true);
    }

    string Address => $"127.0.0.1:{host.EndPoint.Port}";

    SeloraProcess.Result Cmd(params string[] args) =>
        SeloraProcess.Run(dir, new Dictionary<string, string?> { ["SELORA_CMD_SECRET"] = null }, ["cmd", .. args]);

    [Fact]
    public void One_shot_prints_the_stream_and_exits_0_or_1_or_2()
    {
        var ping = Cmd(Address, "host", "ping");
        Assert.True(ping.ExitCode == 0, ping.All);
        Assert.Equal("pong\n", ping.Stdout);
        Assert.Equal("", ping.Stderr);

        // -c and --name belong to the command, not to selora's own options.
        var echo = Cmd(Address, "test", "echo", "-c", "x.hocon", "--name", "run one", "-a", "10.0.0.1:4053", "--force", "r7");
        Assert.True(echo.ExitCode == 0, echo.All);
        Assert.Equal("address=10.0.0.1:4053 config=x.hocon name=run one force=True run=r7\n", echo.Stdout);

        var lines = Cmd(Address, "test", "lines", "-n", "3");
        Assert.Equal((0, "1\n2\n3\n"), (lines.ExitCode, lines.Stdout));

        var fail = Cmd(Address, "test", "fail");
        Assert.Equal(1, fail.ExitCode);
        Assert.Equal("error (NotFound): nothing here\n", fail.Stderr);

        var missing = Cmd(Address, "test", "echo", "--force");
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("error (BadArguments): ", missing.Stderr);
        Assert.Contains("--address/-a", missing.Stderr);

        var unknown = Cmd(Address, "nope", "x");
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith("error (UnknownPalette): ", unknown.Stderr);

        var badAddress = Cmd("127.0.0.1:notaport", "host", "ping");
        Assert.Equal(2, badAddress.ExitCode);
        Assert.Contains("host:port", badAddress.Stderr);
    }

    [Fact]
    public void Connection_refused_and_authentication_errors_exit_2_and_the_right_secret_works()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var closedPort = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var refused = Cmd($"127.0.0.1:{closedPort}", "host", "ping");
        Assert.Equal(2, refused.ExitCode);
        Assert.StartsWith("error (connection): ", refused.Stderr);

        var secured = $"127.0.0.1:{securedHost.EndPoint.Port}";
        var none = Cmd(secured, "host", "ping");
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("error (Unauthorized)", none.Stderr);
        Assert.Contains("SELORA_CMD_SECRET", none.Stderr);

        var wrong = SeloraProcess.Run(dir, new Dictionary<string, string?> { ["SELORA_CMD_SECRET"] = "not the shared secret at all" }, "cmd", secured, "host", "ping");
        Assert.Equal(2, wrong.ExitCode);
        Assert.Contains("error (Unauthorized)", wrong.Stderr);
        Assert.Equal("", wrong.Stdout);

        var right = SeloraProcess.Run(dir, new Dictionary<string, string?> { ["SELORA_CMD_SECRET"] = Secret }, "cmd", secured, "host", "ping");
        Assert.True(right.ExitCode == 0, right.All);
        Assert.Equal("pong\n", right.Stdout);

        var file = Path.Combine(dir, "secret");
        File.WriteAllText(file, Secret + "\n");
        var fromFile = Cmd("--secret-file", file, secured, "host", "ping");
        Assert.True(fromFile.ExitCode == 0, fromFile.All);
    }

    [Fact]
    public async Task Interactive_mode_reads_redirected_stdin_runs_help_and_commands()
    {
        // The CLI is built beside the tests in the same configuration (as SeloraProcess finds it).
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var program = Path.Combine(RepoPaths.Root, "src", "SeLoRA.Cli", "bin", framework.Parent!.Name, framework.Name, "selora.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = dir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(program);
        foreach (var a in new[] { "cmd", Address }) start.ArgumentList.Add(a);
        start.Environment.Remove("SELORA_CMD_SECRET");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        process.StandardInput.Write("help\nhelp test\n\nhost ping\ntest echo -a 'a b' --force\ntest fail\ntest lines -n 2\nexit\nhost ping\n");
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        var errors = await stderr;
        Assert.Contains("Palettes (help <palette> for its commands):", output);
        Assert.Contains("  host  ", output);
        Assert.Contains("test: Commands for the CLI tests.", output);
        Assert.Contains("  test echo -a|--address <address> [-c|--config <config>] [--name <name>] [-f|--force] [<run>]", output);
        Assert.Contains("pong\naddress=a b config= name= force=True run=\n1\n2\n", output);
        Assert.Equal("error (NotFound): nothing here\n", errors);
        Assert.Equal(1, process.ExitCode); // piped commands: the failed one shows in the exit code
        Assert.Single(output.Split('\n'), l => l == "pong"); // nothing after exit ran
    }

    [Fact]
    public void Completion_help_splitting_and_addresses_come_from_the_schema()
    {
        var schema = new CommandSchema([new EchoPalette().Spec, new PaletteSpec("train", "t", [new CommandSpec("tail", "", []), new CommandSpec("start", "", [])])]);
        Assert.Equal(["exit", "help", "test", "train"], CommandCompleter.Complete(schema, ""));
        Assert.Equal(["test", "train"], CommandCompleter.Complete(schema, "t"));
        Assert.Equal(["tail"], CommandCompleter.Complete(schema, "train ta"));
        Assert.Equal(["echo", "fail", "lines"], CommandCompleter.Complete(schema, "test "));
        Assert.Equal(["--address", "--config", "--force", "--name"], CommandCompleter.Complete(schema, "test echo "));
        Assert.Equal(["--config", "--force", "--name"], CommandCompleter.Complete(schema, "test echo -a x --"));
        Assert.Equal(["--force"], CommandCompleter.Complete(schema, "test echo --f"));
        Assert.Equal(["test", "train"], CommandCompleter.Complete(schema, "help t"));
        Assert.Empty(CommandCompleter.Complete(schema, "nope "));

        Assert.Equal(["train", "start", "-c", "my config.hocon", "it's", "a\"b"],
            CommandLineSplitter.Split("train start  -c \"my config.hocon\" 'it'\\''s' a\\\"b"));
        Assert.Throws<FormatException>(() => CommandLineSplitter.Split("a \"b"));

        Assert.Equal(new CommandAddress("10.0.0.2", 9111), CommandAddress.Parse("10.0.0.2:9111"));
        Assert.Equal(new CommandAddress("::1", 9110), CommandAddress.Parse("[::1]:9110"));
        Assert.Equal("[::1]:9110", new CommandAddress("::1", 9110).ToString());
        Assert.Throws<FormatException>(() => CommandAddress.Parse(":9110"));

        var help = CommandHelp.Lines(schema, ["test", "echo"]).ToList();
        Assert.Contains(help, l => l.Contains("-a, --address <address>") && l.Contains("mandatory"));
        Assert.Contains(help, l => l.Contains("-f, --force") && l.Contains("switch"));
        Assert.Equal(CommandErrorKind.UnknownPalette, Assert.Throws<CommandException>(() => CommandHelp.Lines(schema, ["nope"]).ToList()).Kind);
    }

    /// <summary>`test echo`, `test fail`, `test lines -n N`.</summary>
    sealed class EchoPalette : ICommandPalette
    {
        public PaletteSpec Spec { get; } = new("test", "Commands for the CLI tests.",
        [
            new CommandSpec("echo", "Print the arguments as parsed.",
            [
                new CommandArgumentSpec("address", "a", "An address.", Mandatory: true),
                new CommandArgumentSpec("config", "c", "Clashes with selora's -c."),
                new CommandArgumentSpec("name", null, "Clashes with nothing."),
                new CommandArgumentSpec("force", "f", "A switch.", IsSwitch: true),
                new CommandArgumentSpec("run", null, "A positional.", Positional: true),
            ]),
            new CommandSpec("fail", "End with NotFound.", []),
            new CommandSpec("lines", "Print 1..n.", [new CommandArgumentSpec("n", "n", "How many.", Default: "1")]),
        ]);

        public async IAsyncEnumerable<string> Execute(CommandInvocation invocation, [EnumeratorCancellation] CancellationToken cancellation)
        {
            await Task.Yield();
            switch (invocation.Command)
            {
                case "echo":
                    yield return $"address={invocation.Get("address")} config={invocation.Get("config")} name={invocation.Get("name")} " +
                                 $"force={invocation.Has("force")} run={invocation.Get("run")}";
                    break;
                case "fail":
                    throw new CommandException(CommandErrorKind.NotFound, "nothing here");
                case "lines":
                    for (var i = 1; i <= int.Parse(invocation.Get("n")!, System.Globalization.CultureInfo.InvariantCulture); i++)
                        yield return i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    break;
            }
        }
    }
}
