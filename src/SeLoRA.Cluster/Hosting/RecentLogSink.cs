using System.Globalization;
using Serilog.Core;
using Serilog.Events;

namespace SeLoRA.Cluster.Hosting;

/// <summary>The last log lines of this process in memory, for `node log peek` (the JSON files hold the full history).</summary>
public sealed class RecentLogSink(int capacity = 1000) : ILogEventSink
{
    readonly Queue<string> lines = new();

    public void Emit(LogEvent logEvent)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{logEvent.Timestamp:HH:mm:ss} {Level(logEvent.Level)} {logEvent.RenderMessage(CultureInfo.InvariantCulture)}");
        if (logEvent.Exception is { } e) line += $" ({e.GetType().Name}: {e.Message})";
        lock (lines)
        {
            lines.Enqueue(line);
            while (lines.Count > capacity) lines.Dequeue();
        }
    }

    /// <summary>The newest <paramref name="count"/> lines, oldest first.</summary>
    public IReadOnlyList<string> Tail(int count)
    {
        lock (lines) return lines.Skip(Math.Max(0, lines.Count - count)).ToList();
    }

    static string Level(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "VRB",
        LogEventLevel.Debug => "DBG",
        LogEventLevel.Information => "INF",
        LogEventLevel.Warning => "WRN",
        LogEventLevel.Error => "ERR",
        _ => "FTL",
    };
}
