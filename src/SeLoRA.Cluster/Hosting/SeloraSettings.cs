using Akka.Configuration;
using Serilog.Events;

namespace SeLoRA.Cluster.Hosting;

/// <summary>The "selora" section, read once and checked. Each error names the setting and what it accepts.</summary>
public sealed record SeloraSettings(
    string NodeName,
    IReadOnlyList<string> Roles,
    string DataDirectory,
    LoggingSettings Logging,
    TorchSettings Torch,
    PersistenceSettings Persistence,
    DoctorSettings Doctor)
{
    /// <summary>Overrides the PostgreSQL connection string, so passwords stay out of files. (Akka's HOCON ${?VAR} loops when VAR is unset.)</summary>
    public const string PostgresVariable = "SELORA_POSTGRES";

    public static readonly IReadOnlySet<string> KnownRoles = new HashSet<string> { "coordinator", "worker", "evaluator" };

    /// <summary>Where this node writes its own files (logs; the embedded journal lives in DataDirectory).</summary>
    public string NodeDirectory => Path.Combine(DataDirectory, "nodes", NodeName);

    public static SeloraSettings From(Config config)
    {
        var node = config.GetString(Keys.NodeName, "");
        var roles = config.GetStringList(Keys.Roles).ToList();
        var badRole = roles.FirstOrDefault(r => !KnownRoles.Contains(r));
        if (roles.Count == 0 || badRole != null)
            throw Invalid(Keys.Roles, badRole ?? "[]", "a non-empty list of coordinator, worker, evaluator");

        var levelText = config.GetString(Keys.LogLevel);
        if (!Enum.TryParse<LogEventLevel>(levelText, ignoreCase: true, out var level))
            throw Invalid(Keys.LogLevel, levelText, "Verbose, Debug, Information, Warning, Error or Fatal");
        var retained = config.GetInt(Keys.LogRetainedFiles);
        if (retained < 1) throw Invalid(Keys.LogRetainedFiles, retained.ToString(), "a whole number of at least 1");

        var threads = config.GetInt(Keys.TorchThreads);
        if (threads < 0) throw Invalid(Keys.TorchThreads, threads.ToString(), "0 (libtorch's choice) or a positive count");

        var provider = config.GetString(Keys.PersistenceProvider);
        if (provider is not ("sqlite" or "postgres"))
            throw Invalid(Keys.PersistenceProvider, provider, "sqlite or postgres");

        var seconds = config.GetDouble(Keys.DoctorMatmulSeconds);
        if (seconds <= 0 || seconds > 60) throw Invalid(Keys.DoctorMatmulSeconds, seconds.ToString("R"), "seconds in (0, 60]");
        var size = config.GetInt(Keys.DoctorMatmulSize);
        if (size < 16 || size > 16384) throw Invalid(Keys.DoctorMatmulSize, size.ToString(), "a side from 16 to 16384");

        var dataDir = config.GetString(Keys.DataDir);
        if (string.IsNullOrWhiteSpace(dataDir)) throw Invalid(Keys.DataDir, "\"\"", "a folder path");

        return new SeloraSettings(
            NodeName: string.IsNullOrWhiteSpace(node) ? Environment.MachineName : node,
            Roles: roles,
            DataDirectory: Path.GetFullPath(dataDir),
            Logging: new LoggingSettings(level, config.GetBoolean(Keys.LogFile), retained),
            Torch: new TorchSettings(config.GetString(Keys.TorchDevice), threads),
            Persistence: new PersistenceSettings(provider, config.GetString(Keys.SqliteDatabase),
                Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } fromEnvironment
                    ? fromEnvironment
                    : config.GetString(Keys.PostgresConnectionString, "")),
            Doctor: new DoctorSettings(TimeSpan.FromSeconds(seconds), size));
    }

    static ConfigurationException Invalid(string key, string value, string expected) =>
        new($"setting {key} = {value}: expected {expected}.");

    /// <summary>Every setting path the code reads; each has a commented default in hocon/base.hocon.</summary>
    public static class Keys
    {
        public const string NodeName = "selora.node-name";
        public const string Roles = "selora.roles";
        public const string DataDir = "selora.data-dir";
        public const string LogLevel = "selora.logging.level";
        public const string LogFile = "selora.logging.file";
        public const string LogRetainedFiles = "selora.logging.retained-files";
        public const string TorchDevice = "selora.torch.device";
        public const string TorchThreads = "selora.torch.threads";
        public const string PersistenceProvider = "selora.persistence.provider";
        public const string SqliteDatabase = "selora.persistence.sqlite.database";
        public const string PostgresConnectionString = "selora.persistence.postgres.connection-string";
        public const string DoctorMatmulSeconds = "selora.doctor.matmul-seconds";
        public const string DoctorMatmulSize = "selora.doctor.matmul-size";

        /// <summary>The training run's section; its keys are <see cref="TrainingConfigReader.Keys"/>.</summary>
        public const string Train = "selora.train";

        public static IReadOnlyList<string> All { get; } = typeof(Keys).GetFields()
            .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToList();
    }
}

public sealed record LoggingSettings(LogEventLevel Level, bool WriteFile, int RetainedFiles);

public sealed record TorchSettings(string Device, int Threads);

public sealed record PersistenceSettings(string Provider, string SqliteDatabase, string PostgresConnectionString)
{
    public bool PostgresConfigured => !string.IsNullOrWhiteSpace(PostgresConnectionString);

    /// <summary>The SQLite file, resolved against the data directory.</summary>
    public string SqlitePath(string dataDirectory) => Path.GetFullPath(Path.Combine(dataDirectory, SqliteDatabase));
}

public sealed record DoctorSettings(TimeSpan MatmulBudget, int MatmulSize);
