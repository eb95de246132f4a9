using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SeLoRA.Cluster.Hosting;
using SeLoRA.TestSupport;
using Serilog;
using Serilog.Context;

namespace SeLoRA.Cluster.Tests.Hosting;

[CollectionDefinition(nameof(StaticSerilog), DisableParallelization = true)]
public sealed class StaticSerilog;

/// <summary>These tests replace Serilog's static logger, so they run alone.</summary>
[Collection(nameof(StaticSerilog))]
public sealed class LoggingTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-logs-").FullName;

    public void Dispose()
    {
        Log.CloseAndFlush();
        Directory.Delete(_dir, recursive: true);
    }

    List<JsonElement> ReadJsonLines()
    {
        var file = Assert.Single(Directory.GetFiles(_dir, "selora-*.json"));
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
    }

    static SeloraSettings Settings => SeloraSettings.From(HoconLoader.LoadDefaults(RepoPaths.Hocon));

    [Fact]
    public void The_json_file_carries_node_role_and_run_and_worker_where_known()
    {
        using (var logger = SeloraLogging.Create(Settings.Logging, new LogScope("node-a", "worker", Run: "run-7"), _dir, console: false))
        {
            logger.Information("step {Step} done", 12);
            using (LogContext.PushProperty(LogScope.WorkerProperty, "cuda:1"))
                logger.Warning("slow shard");
        }
        var lines = ReadJsonLines();
        Assert.Equal(2, lines.Count);
        Assert.All(lines, l =>
        {
            Assert.Equal("node-a", l.GetProperty("Node").GetString());
            Assert.Equal("worker", l.GetProperty("Role").GetString());
            Assert.Equal("run-7", l.GetProperty("Run").GetString());
        });
        Assert.Equal("step 12 done", lines[0].GetProperty("@m").GetString());
        Assert.Equal(12, lines[0].GetProperty("Step").GetInt32());
        Assert.False(lines[0].TryGetProperty("Worker", out _));
        Assert.Equal("cuda:1", lines[1].GetProperty("Worker").GetString());
        Assert.Equal("Warning", lines[1].GetProperty("@l").GetString());
    }

    [Fact]
    public void The_level_setting_filters_what_is_written()
    {
        var quiet = Settings.Logging with { Level = Serilog.Events.LogEventLevel.Warning };
        using (var logger = SeloraLogging.Create(quiet, new LogScope("n", "r"), _dir, console: false))
        {
            logger.Information("hidden");
            logger.Error("shown");
        }
        Assert.Equal("shown", Assert.Single(ReadJsonLines()).GetProperty("@m").GetString());
    }

    sealed class Chatty : ReceiveActor
    {
        public Chatty()
        {
            var log = Context.GetLogger().WithContext(LogScope.WorkerProperty, "worker-3");
            ReceiveAny(message =>
            {
                log.Info("got {Message}", message);
                Sender.Tell("done");
            });
        }
    }

    [Fact]
    public async Task Akka_logs_reach_serilog_with_the_scope_and_actor_context()
    {
        var settings = Settings;
        SeloraLogging.Install(settings, new LogScope("node-b", "coordinator+worker", Run: "run-9"), _dir);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSeloraActorSystem(HoconLoader.Load(RepoPaths.Hocon), settings);
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        var system = host.Services.GetRequiredService<ActorSystem>();
        var actor = system.ActorOf(Props.Create(() => new Chatty()), "chatty");
        Assert.Equal("done", await actor.Ask<string>("hello", TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        await host.StopAsync(TestContext.Current.CancellationToken);
        Log.CloseAndFlush();

        var fromActor = Assert.Single(ReadJsonLines(), l => l.GetProperty("@m").GetString()!.Contains("got"));
        Assert.Equal("got \"hello\"", fromActor.GetProperty("@m").GetString());
        Assert.Equal("node-b", fromActor.GetProperty("Node").GetString());
        Assert.Equal("run-9", fromActor.GetProperty("Run").GetString());
        Assert.Equal("worker-3", fromActor.GetProperty("Worker").GetString());
        Assert.Contains("chatty", fromActor.GetProperty("LogSource").GetString());
    }
}
