using System.Net.Sockets;
using SeLoRA.Cluster.Commands;

namespace SeLoRA.Cli.CommandClient;

/// <summary>
/// `selora cmd`: one-shot (`[host:port] palette command args`) or interactive (`[host:port]`). Reply lines go to stdout as
/// they arrive, errors to stderr as `error (&lt;kind&gt;): &lt;message&gt;`. Exit codes: 0 ok; 1 the command ended in error
/// (including arguments the schema refuses); 2 usage, connection or authentication problems.
/// </summary>
public sealed class CommandShell
{
    public const int Ok = 0;
    public const int CommandFailed = 1;
    public const int UsageOrConnection = 2;

    readonly TextReader input;
    readonly TextWriter output;
    readonly TextWriter error;
    readonly bool terminal;

    /// <param name="terminal">stdin is a terminal: prompt, line editing, completion and history.</param>
    public CommandShell(TextReader input, TextWriter output, TextWriter error, bool terminal)
    {
        this.input = input;
        this.output = output;
        this.error = error;
        this.terminal = terminal;
    }

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Runs with the words typed after `selora cmd`.</summary>
    public async Task<int> RunAsync(IReadOnlyList<string> words)
    {
        string? secretFile = null;
        var i = 0;
        for (; i < words.Count && words[i].StartsWith("--secret-file", StringComparison.Ordinal); i++)
        {
            if (words[i].StartsWith("--secret-file=", StringComparison.Ordinal)) secretFile = words[i]["--secret-file=".Length..];
            else if (words[i] == "--secret-file" && i + 1 < words.Count) secretFile = words[++i];
            else return Usage($"'{words[i]}': expected --secret-file <path>");
        }
        var address = CommandAddress.Default;
        try
        {
            if (i < words.Count && CommandAddress.LooksLikeAddress(words[i])) address = CommandAddress.Parse(words[i++]);
        }
        catch (FormatException e)
        {
            return Usage(e.Message);
        }
        string? secret;
        try
        {
            secret = ReadSecret(secretFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return Usage(e.Message);
        }
        var rest = words.Skip(i).ToList();
        if (rest.Count == 1 && rest[0] != "help")
            return Usage($"'{rest[0]}' needs a command: selora cmd [host:port] <palette> <command> [args]; try 'selora cmd {address} help {rest[0]}'");

        CommandClientConnection connection;
        try
        {
            connection = await Connect(address, secret);
        }
        catch (Exception e) when (e is IOException or SocketException or CommandException)
        {
            return ConnectionError(address, e);
        }
        if (rest.Count == 0) return await Interactive(connection, address, secret);
        await using (connection)
            return await RunLine(connection, rest) ? Ok : CommandFailed;
    }

    async Task<CommandClientConnection> Connect(CommandAddress address, string? secret) =>
        await CommandClientConnection.ConnectAsync(address.Host, address.Port, secret, ConnectTimeout);

    /// <summary>--secret-file wins over SELORA_CMD_SECRET: an explicit choice beats the environment.</summary>
    static string? ReadSecret(string? secretFile)
    {
        if (secretFile is not null)
        {
            if (!File.Exists(secretFile)) throw new FileNotFoundException($"--secret-file {secretFile}: no such file.");
            var text = File.ReadAllText(secretFile).Trim();
            return text.Length > 0 ? text : throw new FormatException($"--secret-file {secretFile} is empty.");
        }
        var fromEnvironment = Environment.GetEnvironmentVariable(CommandAuthentication.SecretVariable);
        return string.IsNullOrEmpty(fromEnvironment) ? null : fromEnvironment.Trim();
    }

    async Task<int> Interactive(CommandClientConnection connection, CommandAddress address, string? secret)
    {
        var prompt = $"[{address}] pbm> ";
        var editor = terminal ? new LineEditor(line => CommandCompleter.Complete(connection.Schema, line)) : null;
        var anyFailed = false;
        if (terminal) output.WriteLine($"Connected to {address} ({connection.Node}). 'help' lists the palettes, 'exit' leaves.");
        try
        {
            while (true)
            {
                var line = editor is not null ? editor.ReadLine(prompt) : await input.ReadLineAsync();
                if (line is null) break;
                IReadOnlyList<string> words;
                try
                {
                    words = CommandLineSplitter.Split(line);
                }
                catch (FormatException e)
                {
                    error.WriteLine($"error ({CommandErrorKind.BadArguments}): {e.Message}");
                    continue;
                }
                if (words.Count == 0) continue;
                if (words[0] is "exit" or "quit") break;
                if (!connection.IsOpen)
                {
                    error.WriteLine($"connection lost ({connection.ClosedReason}); reconnecting to {address}");
                    try
                    {
                        await connection.DisposeAsync();
                        connection = await Connect(address, secret);
                    }
                    catch (Exception e) when (e is IOException or SocketException or CommandException)
                    {
                        return ConnectionError(address, e);
                    }
                }
                if (!await RunLine(connection, words)) anyFailed = true;
            }
        }
        finally
        {
            await connection.DisposeAsync();
        }
        // At a terminal an error was already seen; a script piping commands learns of it from the exit code.
        return anyFailed && !terminal ? CommandFailed : Ok;
    }

    /// <summary>Runs `help ...` or `palette command args`; false when it ended in error.</summary>
    async Task<bool> RunLine(CommandClientConnection connection, IReadOnlyList<string> words)
    {
        if (words[0] == "help")
        {
            try
            {
                foreach (var line in CommandHelp.Lines(connection.Schema, words.Skip(1).ToList())) output.WriteLine(line);
                return true;
            }
            catch (CommandException e)
            {
                return Fail(e.Kind, e.Message);
            }
        }
        if (words.Count < 2)
            return Fail(CommandErrorKind.UnknownCommand, connection.Schema.FindPalette(words[0]) is { } p
                ? $"'{words[0]}' needs a command: {string.Join(", ", p.Commands.Select(c => c.Name))}"
                : $"unknown palette '{words[0]}'; palettes: {string.Join(", ", connection.Schema.Palettes.Select(s => s.Name))}");
        using var cancel = new CancellationTokenSource();
        // Ctrl-C cancels the running command (the host ends it with Cancelled) and keeps the session; a second one ends the program.
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cancel.IsCancellationRequested) return;
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var outcome = await connection.ExecuteAsync(words[0], words[1], words.Skip(2).ToList(), line => output.WriteLine(line), cancel.Token);
            output.Flush();
            return outcome.Ok || Fail(outcome.Kind ?? CommandErrorKind.Failed, outcome.Message ?? "failed");
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return Fail(CommandErrorKind.Failed, $"connection lost: {e.Message}");
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    bool Fail(CommandErrorKind kind, string message)
    {
        output.Flush();
        error.WriteLine($"error ({kind}): {message}");
        return false;
    }

    int Usage(string message)
    {
        error.WriteLine($"error (usage): {message}");
        return UsageOrConnection;
    }

    int ConnectionError(CommandAddress address, Exception e)
    {
        var kind = e is CommandException c ? c.Kind.ToString() : "connection";
        error.WriteLine($"error ({kind}): {address}: {e.Message}");
        return UsageOrConnection;
    }
}
