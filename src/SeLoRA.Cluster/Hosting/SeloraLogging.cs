using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace SeLoRA.Cluster.Hosting;

/// <summary>
/// Serilog for the whole process: human-readable lines on stderr (stdout stays clean for command output) and a rolling
/// JSON file in the node or run directory. Akka's logs reach it through Akka.Logger.Serilog (hocon/base.hocon).
/// </summary>
public static class SeloraLogging
{
    public const string ConsoleTemplate =
        "[{Timestamp:HH:mm:ss} {Level:u3}] {Node}/{Role}{RunSuffix}{WorkerSuffix}{SourceSuffix}: {Message:lj}{NewLine}{Exception}";

    public const string FilePattern = "selora-.json";

    /// <summary>Builds a logger; <paramref name="logDirectory"/> null means console only.</summary>
    public static Logger Create(LoggingSettings settings, LogScope scope, string? logDirectory, bool console = true, RecentLogSink? recent = null)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(settings.Level)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .Enrich.FromLogContext()
            .Enrich.With(new ScopeEnricher(scope));
        if (console)
            configuration = configuration.WriteTo.Console(outputTemplate: ConsoleTemplate, standardErrorFromLevel: LogEventLevel.Verbose);
        if (recent != null) configuration = configuration.WriteTo.Sink(recent);
        if (settings.WriteFile && logDirectory != null)
        {
            Directory.CreateDirectory(logDirectory);
            configuration = configuration.WriteTo.File(new RenderedCompactJsonFormatter(), Path.Combine(logDirectory, FilePattern),
                rollingInterval: RollingInterval.Day, retainedFileCountLimit: settings.RetainedFiles, shared: true);
        }
        return configuration.CreateLogger();
    }

    /// <summary>Builds the process logger and installs it as Serilog's static logger, which Akka.Logger.Serilog writes to.</summary>
    public static Logger Install(SeloraSettings settings, LogScope scope, string? logDirectory = null, RecentLogSink? recent = null)
    {
        var logger = Create(settings.Logging, scope, logDirectory ?? Path.Combine(settings.NodeDirectory, "logs"), recent: recent);
        Log.Logger = logger;
        return logger;
    }

    /// <summary>Adds node and role, and run and worker unless a context already set them; renders their console suffixes.</summary>
    sealed class ScopeEnricher(LogScope scope) : ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory factory)
        {
            logEvent.AddPropertyIfAbsent(factory.CreateProperty(LogScope.NodeProperty, scope.Node));
            logEvent.AddPropertyIfAbsent(factory.CreateProperty(LogScope.RoleProperty, scope.Role));
            if (scope.Run != null) logEvent.AddPropertyIfAbsent(factory.CreateProperty(LogScope.RunProperty, scope.Run));
            if (scope.Worker != null) logEvent.AddPropertyIfAbsent(factory.CreateProperty(LogScope.WorkerProperty, scope.Worker));
            logEvent.AddOrUpdateProperty(factory.CreateProperty("RunSuffix", Suffix(logEvent, LogScope.RunProperty, " run=")));
            logEvent.AddOrUpdateProperty(factory.CreateProperty("WorkerSuffix", Suffix(logEvent, LogScope.WorkerProperty, " worker=")));
            var source = Suffix(logEvent, "LogSource", " ");
            logEvent.AddOrUpdateProperty(factory.CreateProperty("SourceSuffix", source.Length > 0 ? source : Suffix(logEvent, "SourceContext", " ")));
        }

        static string Suffix(LogEvent logEvent, string property, string label) =>
            logEvent.Properties.TryGetValue(property, out var value) && value is ScalarValue { Value: not null } scalar
                ? label + scalar.Value
                : "";
    }
}
