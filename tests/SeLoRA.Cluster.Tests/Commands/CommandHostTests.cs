using System.Buffers.Binary;
using System.Net;
using Akka.Configuration;
using SeLoRA.Cluster.Commands;

namespace SeLoRA.Cluster.Tests.Commands;

public sealed class CommandHostTests(CommandHostFixture fixture) : IClassFixture<CommandHostFixture>
{
    const string Secret = "correct horse battery staple";

    static Task<CommandClientConnection> Connect(CommandHostHandle host, string? secret = null) =>
        CommandClientConnection.ConnectAsync(host.EndPoint.Address.ToString(), host.EndPoint.Port, secret, TimeSpan.FromSeconds(5),
            TestContext.Current.CancellationToken);

    [Fact]
    public async Task The_schema_arrives_on_connect_and_host_ping_answers_pong()
    {
        var palette = new TestPalette();
        using var host = fixture.Start(palette);
        Assert.True(IPAddress.IsLoopback(host.EndPoint.Address));
        Assert.True(host.EndPoint.Port > 0);
        Assert.False(host.RequiresAuthentication);
        await using var client = await Connect(host);

        Assert.Equal(["host", "test"], client.Schema.Palettes.Select(p => p.Name));
        var count = client.Schema.FindPalette("test")!.Commands.Single(c => c.Name == "count");
        Assert.Equal(new CommandArgumentSpec("n", "n", "How many lines.", Mandatory: true), count.Arguments[0]);
        Assert.Equal("0", count.Arguments[1].Default);

        var (outcome, lines) = await client.ExecuteCollectAsync("host", "ping");
        Assert.True(outcome.Ok);
        Assert.Equal(["pong"], lines);
        (outcome, lines) = await client.ExecuteCollectAsync("host", "palettes");
        Assert.True(outcome.Ok);
        Assert.Equal(2, lines.Count);
        Assert.StartsWith("test | ", lines[1]);
    }

    [Fact]
    public async Task A_stream_cancelled_mid_way_ends_Cancelled_and_the_session_stays_usable()
    {
        var palette = new TestPalette();
        using var host = fixture.Start(palette);
        await using var client = await Connect(host);
        using var cancel = new CancellationTokenSource();
        var lines = new List<string>();
        var outcome = await client.ExecuteAsync("test", "count", ["-n", "1000", "--delay-ms", "10"], line =>
        {
            lines.Add(line);
            if (lines.Count == 5) cancel.Cancel();
        }, cancel.Token);
        Assert.False(outcome.Ok);
        Assert.Equal(CommandErrorKind.Cancelled, outcome.Kind);
        Assert.InRange(lines.Count, 5, 50);
        Assert.Equal(["1", "2", "3", "4", "5"], lines.Take(5));
        await palette.CountCancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

        var (again, pong) = await client.ExecuteCollectAsync("host", "ping");
        Assert.True(again.Ok);
        Assert.Equal(["pong"], pong);
        var (full, numbers) = await client.ExecuteCollectAsync("test", "count", "-n", "300");
        Assert.True(full.Ok);
        Assert.Equal(Enumerable.Range(1, 300).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), numbers);
    }

    [Fact]
    public async Task Unknown_palettes_commands_and_bad_arguments_get_their_error_kinds_from_the_host()
    {
        var palette = new TestPalette();
        using var host = fixture.Start(palette);
        await using var client = await Connect(host);
        async Task<CommandOutcome> Run(string p, string c, params string[] args) =>
            await client.ExecuteAsync(p, c, args, _ => { }, TestContext.Current.CancellationToken, validate: false);

        Assert.Equal(CommandErrorKind.UnknownPalette, (await Run("nope", "x")).Kind);
        Assert.Equal(CommandErrorKind.UnknownCommand, (await Run("test", "nope")).Kind);
        var bad = await Run("test", "count", "--bogus", "1");
        Assert.Equal(CommandErrorKind.BadArguments, bad.Kind);
        Assert.Contains("--bogus", bad.Message);
        Assert.Contains("-n", (await Run("test", "count")).Message);
        Assert.Equal(0, palette.Executed);

        Assert.Equal(CommandErrorKind.NotFound, (await Run("test", "fail")).Kind);
        var boom = await Run("test", "boom");
        Assert.Equal(CommandErrorKind.Failed, boom.Kind);
        Assert.Contains("unexpected", boom.Message);
        var bad2 = await Run("test", "count", "-n", "x");
        Assert.Equal(CommandErrorKind.BadArguments, bad2.Kind);

        // Client-side validation gives the same answer without a round trip.
        var local = await client.ExecuteAsync("test", "echo", ["--force"], _ => { }, TestContext.Current.CancellationToken);
        Assert.Equal(CommandErrorKind.BadArguments, local.Kind);
        Assert.Contains("--address/-a", local.Message);
        Assert.True((await client.ExecuteCollectAsync("host", "ping")).Outcome.Ok);
    }

    [Fact]
    public async Task With_a_secret_the_right_one_is_accepted_and_a_wrong_one_refused_with_nothing_executed()
    {
        var palette = new TestPalette();
        using var host = fixture.Start(palette, Secret);
        Assert.True(host.RequiresAuthentication);

        await using (var good = await Connect(host, Secret))
            Assert.True((await good.ExecuteCollectAsync("host", "ping")).Outcome.Ok);

        var wrong = await Assert.ThrowsAsync<CommandException>(() => Connect(host, "incorrect horse battery staple"));
        Assert.Equal(CommandErrorKind.Unauthorized, wrong.Kind);
        var none = await Assert.ThrowsAsync<CommandException>(() => Connect(host));
        Assert.Contains(CommandAuthentication.SecretVariable, none.Message);

        // Skipping authentication: the hello carries a challenge and no schema; an execute is refused and the connection closed.
        using var raw = new RawConnection(host.EndPoint);
        var hello = raw.Read()!;
        Assert.Equal((CommandFrameTypes.Hello, CommandAuthentication.Scheme), (hello.Type, hello.Auth));
        Assert.False(string.IsNullOrEmpty(hello.Nonce));
        Assert.DoesNotContain(Secret, System.Text.Encoding.UTF8.GetString(CommandFraming.Encode(hello)));
        raw.Send(CommandFrame.Execute("1", "test", "count", ["-n", "3"]));
        var refused = raw.Read()!;
        Assert.Equal((CommandFrameTypes.Error, CommandErrorKind.Unauthorized), (refused.Type, refused.Kind));
        Assert.Null(raw.Read());

        // A replayed MAC from another session does not work: the nonce differs.
        using var replay = new RawConnection(host.EndPoint);
        var hello2 = replay.Read()!;
        replay.Send(new CommandFrame { Type = CommandFrameTypes.Auth, ClientNonce = "c", Mac = CommandAuthentication.ClientMac(Secret, hello.Nonce!, "c") });
        Assert.Equal(CommandErrorKind.Unauthorized, replay.Read()!.Kind);
        Assert.NotEqual(hello.Nonce, hello2.Nonce);
        Assert.Equal(0, palette.Executed);
    }

    [Fact]
    public void Binding_a_non_loopback_address_without_a_secret_is_refused_naming_the_setting()
    {
        var e = Assert.Throws<ConfigurationException>(() => CommandHost.Start(fixture.System,
            new CommandHostSettings { Hostname = "0.0.0.0", Port = 0 }, []));
        Assert.Contains("selora.command-host.secret-file", e.Message);
        Assert.Contains("SELORA_CMD_SECRET", e.Message);
        Assert.Contains("selora.command-host.hostname", e.Message);

        using var withSecret = CommandHost.Start(fixture.System, new CommandHostSettings { Hostname = "0.0.0.0", Port = 0, Secret = Secret }, []);
        Assert.True(withSecret.RequiresAuthentication);
    }

    [Fact]
    public void Settings_come_from_hocon_and_the_secret_from_the_environment_or_a_file()
    {
        var file = Path.Combine(Path.GetTempPath(), $"selora-cmd-secret-{Guid.NewGuid():N}");
        File.WriteAllText(file, Secret + "\n");
        try
        {
            var config = ConfigurationFactory.ParseString($$"""
                selora.command-host { hostname = "0.0.0.0", port = 0, secret-file = "{{file}}", max-frame-bytes = 4096, idle-timeout = 30s }
                """);
            var settings = CommandHostSettings.FromConfig(config);
            Assert.Equal(("0.0.0.0", 0, Secret, 4096, TimeSpan.FromSeconds(30)),
                (settings.Hostname, settings.Port, settings.Secret, settings.MaxFrameBytes, settings.IdleTimeout));
            Assert.Equal(IPAddress.Any, settings.ResolveBindAddress());
            var defaults = CommandHostSettings.FromConfig(ConfigurationFactory.Empty);
            Assert.Equal(("127.0.0.1", 9110), (defaults.Hostname, defaults.Port));
            File.WriteAllText(file, "short");
            var e = Assert.Throws<ConfigurationException>(() => CommandHostSettings.FromConfig(config));
            Assert.Contains("secret-file", e.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Oversized_and_malformed_frames_get_errors_and_the_host_keeps_answering()
    {
        using var host = fixture.Start(new TestPalette(), maxFrameBytes: 4096);
        using (var raw = new RawConnection(host.EndPoint))
        {
            raw.ReadUntil(CommandFrameTypes.Schema);
            raw.SendRaw("{not json"u8.ToArray() is var body ? [.. Header(body.Length), .. body] : []);
            var malformed = raw.ReadUntil(CommandFrameTypes.Error);
            Assert.Equal(CommandErrorKind.BadRequest, malformed.Kind);
            raw.Send(new CommandFrame { Type = "launch-missiles" });
            Assert.Contains("launch-missiles", raw.ReadUntil(CommandFrameTypes.Error).Message);
            raw.Send(CommandFrame.Execute("", "host", "ping", []));
            Assert.Equal(CommandErrorKind.BadRequest, raw.ReadUntil(CommandFrameTypes.Error).Kind);
            // Still usable after the malformed frames.
            raw.Send(CommandFrame.Execute("a", "host", "ping", []));
            Assert.Equal("pong", raw.ReadUntil(CommandFrameTypes.Line).Text);
            Assert.True(raw.ReadUntil(CommandFrameTypes.End).Ok);

            raw.SendRaw(Header(10_000_000));
            var oversized = raw.ReadUntil(CommandFrameTypes.Error);
            Assert.Equal(CommandErrorKind.BadRequest, oversized.Kind);
            Assert.Contains("over the limit", oversized.Message);
            Assert.Null(raw.Read());
        }
        await using var client = await Connect(host);
        Assert.True((await client.ExecuteCollectAsync("host", "ping")).Outcome.Ok);
    }

    [Fact]
    public async Task Thousands_of_random_and_truncated_frames_leave_the_host_answering_ping()
    {
        var palette = new TestPalette();
        using var host = fixture.Start(palette, maxFrameBytes: 4096);
        using var secured = fixture.Start(palette, Secret, maxFrameBytes: 4096);
        var random = new Random(20240611);
        string[] types = ["execute", "cancel", "ping", "auth", "hello", "end", "line", "schema", "", "x"];
        string[] words = ["host", "test", "count", "ping", "-n", "--delay-ms", "9", "", "\u0000", "ü", "--", "-"];
        var frames = 0;
        var connections = 0;
        for (var c = 0; frames < 3000; c++, connections++)
        {
            using var raw = new RawConnection((c % 4 == 3 ? secured : host).EndPoint);
            var perConnection = random.Next(10, 40);
            for (var f = 0; f < perConnection; f++, frames++)
            {
                byte[] bytes;
                switch (random.Next(5))
                {
                    case 0: // random bytes with a plausible length
                        var junk = new byte[random.Next(1, 200)];
                        random.NextBytes(junk);
                        bytes = [.. Header(junk.Length), .. junk];
                        break;
                    case 1: // a JSON frame with random fields
                        var frame = new CommandFrame
                        {
                            Type = types[random.Next(types.Length)],
                            Id = random.Next(3) == 0 ? null : random.Next(5).ToString(System.Globalization.CultureInfo.InvariantCulture),
                            Palette = words[random.Next(words.Length)],
                            Command = words[random.Next(words.Length)],
                            Args = Enumerable.Range(0, random.Next(4)).Select(_ => words[random.Next(words.Length)]).ToList(),
                        };
                        bytes = CommandFraming.Encode(frame);
                        break;
                    case 2: // JSON cut short inside a well-formed length
                        var whole = CommandFraming.Encode(CommandFrame.Execute("z", "host", "ping", []));
                        var body = whole[4..random.Next(5, whole.Length)];
                        bytes = [.. Header(body.Length), .. body];
                        break;
                    case 3: // random bytes, no framing at all
                        bytes = new byte[random.Next(1, 64)];
                        random.NextBytes(bytes);
                        break;
                    default: // a frame whose length promises more than comes (truncated), only at the end of a connection
                        bytes = [.. Header(random.Next(100, 4000)), .. "{\"type\":\"exe"u8.ToArray()];
                        f = perConnection;
                        break;
                }
                try
                {
                    raw.SendRaw(bytes);
                }
                catch (IOException)
                {
                    break; // the host closed this one (oversized or unauthorized): fine
                }
            }
        }
        Assert.True(connections > 100, $"{frames} frames over {connections} connections");

        await using var client = await Connect(host);
        var (outcome, lines) = await client.ExecuteCollectAsync("host", "ping");
        Assert.True(outcome.Ok);
        Assert.Equal(["pong"], lines);
        await using var securedClient = await Connect(secured, Secret);
        Assert.True((await securedClient.ExecuteCollectAsync("host", "ping")).Outcome.Ok);
    }

    static byte[] Header(int length)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)length);
        return header;
    }
}
