using Akka.Configuration;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Events;
using AkkaLogLevel = Akka.Event.LogLevel;

namespace SeLoRA.Cluster.Hosting;

/// <summary>Akka.Hosting wiring shared by every node: the layered HOCON and Serilog as Akka's logger.</summary>
public static class SeloraAkkaHosting
{
    public const string ActorSystemName = "selora";

    public static IServiceCollection AddSeloraActorSystem(this IServiceCollection services, Config config, SeloraSettings settings,
        Action<AkkaConfigurationBuilder, IServiceProvider>? configure = null) =>
        services.AddAkka(ActorSystemName, (builder, provider) =>
        {
            builder.AddSeloraDefaults(config, settings);
            configure?.Invoke(builder, provider);
        });

    public static AkkaConfigurationBuilder AddSeloraDefaults(this AkkaConfigurationBuilder builder, Config config, SeloraSettings settings)
    {
        builder.AddHocon(config, HoconAddMode.Prepend);
        return builder.ConfigureLoggers(setup =>
        {
            setup.LogLevel = ToAkka(settings.Logging.Level);
            setup.ClearLoggers();
            setup.AddLogger<SerilogLogger>();
        });
    }

    static AkkaLogLevel ToAkka(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose or LogEventLevel.Debug => AkkaLogLevel.DebugLevel,
        LogEventLevel.Information => AkkaLogLevel.InfoLevel,
        LogEventLevel.Warning => AkkaLogLevel.WarningLevel,
        _ => AkkaLogLevel.ErrorLevel,
    };
}
