using Akka.Actor;
using SeLoRA.Cluster.Hosting;
using SeLoRA.Cluster.Persistence;
using SeLoRA.Cluster.Runs;
using SeLoRA.Cluster.Runs.Events;
using Serilog.Events;

namespace SeLoRA.Cluster.Tests.Runs;

public sealed class RunMessageSerializerTests : IAsyncLifetime
{
    ActorSystem _system = null!;

    public ValueTask InitializeAsync()
    {
        // The serializer's registration comes with the persistence configuration.
        _system = ActorSystem.Create("serializer-test", RunMessageSerializer.Hocon);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _system.Terminate();

    static IEnumerable<object> Samples()
    {
        var state = RunState.Initial("r1");
        foreach (var command in RunScript.Full())
        {
            state = RunScript.Decide(state, command, out var e);
            yield return command;
            yield return e;
        }
        yield return state;
        yield return new RunStatus(state, 15, 12);
        yield return new CommandRejected("r1", "PauseRun", RunPhase.Completed, "no");
        yield return GetRunStatus.Instance;
        yield return new RunStopped(3, "stop");
        yield return new RunFailed(3, "NaN");
        yield return new StopRun("stop");
        yield return new FailRun("NaN");
        yield return new StepsCompleted(1, 2, [double.NaN, double.PositiveInfinity], 1e-4, 3, 1);
    }

    [Fact]
    public void Every_run_message_uses_the_json_serializer_and_round_trips()
    {
        var options = RunMessageSerializer.JsonOptions;
        foreach (var sample in Samples())
        {
            var serializer = _system.Serialization.FindSerializerFor(sample);
            Assert.IsType<RunMessageSerializer>(serializer);
            var manifest = ((RunMessageSerializer)serializer).Manifest(sample);
            Assert.Equal(sample.GetType().Name, manifest);
            var bytes = serializer.ToBinary(sample);
            var back = _system.Serialization.Deserialize(bytes, RunMessageSerializer.Id, manifest);
            Assert.IsType(sample.GetType(), back);
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(sample, sample.GetType(), options),
                System.Text.Json.JsonSerializer.Serialize(back, back.GetType(), options));
        }
    }

    [Fact]
    public void Every_event_type_has_a_sample_and_a_unique_manifest()
    {
        var sampled = Samples().Select(s => s.GetType()).ToHashSet();
        var events = typeof(IRunEvent).Assembly.GetTypes().Where(t => typeof(IRunEvent).IsAssignableFrom(t) && !t.IsInterface);
        Assert.All(events, t => Assert.Contains(t, sampled));
        Assert.Contains(nameof(RunState), RunMessageSerializer.Types.Keys);
        Assert.Contains(nameof(RanksExpanded), RunMessageSerializer.Types.Keys);
    }

    [Fact]
    public void The_stored_json_is_plain_and_readable()
    {
        var e = new RunPaused(7, "node lost");
        var text = System.Text.Encoding.UTF8.GetString(_system.Serialization.FindSerializerFor(e).ToBinary(e));
        Assert.Equal("""{"step":7,"reason":"node lost"}""", text);
    }

    [Fact]
    public void An_unknown_manifest_is_an_error_naming_it()
    {
        var serializer = (RunMessageSerializer)_system.Serialization.FindSerializerFor(new RunPaused(1, ""));
        var error = Assert.ThrowsAny<Exception>(() => serializer.FromBinary("{}"u8.ToArray(), "RunExploded"));
        Assert.Contains("RunExploded", error.Message);
    }
}
