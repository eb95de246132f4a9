using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Npgsql;
using SeLoRA.Cluster.Hosting;
using SeLoRA.Torch;
using SeLoRA.Torch.Devices;
using SeLoRA.Torch.Diagnostics;

namespace SeLoRA.Cluster.Diagnostics;

/// <summary>The environment checks behind `selora doctor`. Each check catches its own failure and says how to fix it.</summary>
public static class Doctor
{
    /// <summary>Runs every check in order, yielding each as soon as it finishes.</summary>
    public static IEnumerable<DoctorCheck> RunAll(SeloraSettings settings)
    {
        yield return DotNetRuntime();
        var torch = TorchNative(settings.Torch);
        yield return torch;
        yield return torch.Status == CheckStatus.Ok
            ? Matmul(settings.Doctor)
            : DoctorCheck.Skipped("matmul", "TorchSharp did not load");
        yield return Sqlite(settings.DataDirectory, settings.Persistence.SqlitePath(settings.DataDirectory));
        yield return Postgres(settings.Persistence.PostgresConnectionString);
    }

    public static DoctorCheck DotNetRuntime()
    {
        const string name = ".NET runtime";
        var version = Environment.Version;
        var detail = $"{RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription} " +
                     $"({RuntimeInformation.OSArchitecture}), {Environment.ProcessorCount} processors";
        return version.Major >= 10
            ? DoctorCheck.Ok(name, detail)
            : DoctorCheck.Failed(name, detail, "install the .NET 10 SDK or runtime");
    }

    public static DoctorCheck TorchNative(TorchSettings settings)
    {
        const string name = "TorchSharp";
        try
        {
            var info = TorchRuntime.EnsureLoaded();
            if (settings.Threads > 0) info = TorchRuntime.SetThreads(settings.Threads);
            var device = DevicePicker.Pick(settings.Device, SeloraSettings.Keys.TorchDevice);
            var cuda = info.CudaDevices == 0 ? "no CUDA devices" : $"{info.CudaDevices} CUDA device(s)";
            return DoctorCheck.Ok(name,
                $"TorchSharp {info.TorchSharpVersion}, libtorch {info.LibTorchVersion}, {info.Threads} threads, {cuda}; " +
                $"{SeloraSettings.Keys.TorchDevice} = {settings.Device} -> {device}");
        }
        catch (TorchLoadException e)
        {
            return DoctorCheck.Failed(name, e.InnerException?.GetBaseException().Message ?? e.Message,
                e.Message[(e.Message.IndexOf("Fix: ", StringComparison.Ordinal) + 5)..]);
        }
        catch (ArgumentException e)
        {
            return DoctorCheck.Failed(name, e.Message, $"set {SeloraSettings.Keys.TorchDevice} to auto or cpu");
        }
    }

    public static DoctorCheck Matmul(DoctorSettings settings)
    {
        const string name = "matmul";
        try
        {
            var result = MatmulThroughput.Measure(settings.MatmulBudget, settings.MatmulSize);
            return DoctorCheck.Ok(name,
                $"{result.GigaFlops:F1} GFLOP/s ({result.Size}x{result.Size} float32, {result.Iterations} products in " +
                $"{result.Elapsed.TotalSeconds:F2} s on {result.Device})");
        }
        catch (Exception e)
        {
            return DoctorCheck.Failed(name, e.Message, "run `selora doctor` again; if it persists, report the TorchSharp line above");
        }
    }

    /// <summary>Writes and reads back a scratch database beside the journal, and checks the journal itself if it exists.</summary>
    public static DoctorCheck Sqlite(string dataDirectory, string journalPath)
    {
        const string name = "SQLite";
        var scratch = Path.Combine(dataDirectory, $".doctor-{Guid.NewGuid():N}.db");
        try
        {
            Directory.CreateDirectory(dataDirectory);
            string version;
            using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = scratch, Pooling = false }.ToString()))
            {
                connection.Open();
                version = Scalar(connection, "select sqlite_version()");
                Execute(connection, "create table probe(value text)");
                Execute(connection, "insert into probe values ('selora')");
                if (Scalar(connection, "select value from probe") != "selora")
                    return DoctorCheck.Failed(name, "a row written to " + scratch + " did not read back", "check the disk under " + dataDirectory);
            }
            var journal = "no journal yet at " + journalPath;
            if (File.Exists(journalPath))
            {
                using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
                    { DataSource = journalPath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
                connection.Open();
                var check = Scalar(connection, "pragma quick_check");
                if (check != "ok")
                    return DoctorCheck.Failed(name, $"{journalPath}: quick_check says {check}",
                        "restore the journal from a backup, or move it aside to start afresh");
                journal = "journal " + journalPath + " passes quick_check";
            }
            return DoctorCheck.Ok(name, $"SQLite {version}; wrote and read back a row in {dataDirectory}; {journal}");
        }
        catch (Exception e)
        {
            return DoctorCheck.Failed(name, e.Message,
                $"make {dataDirectory} writable, or point {SeloraSettings.Keys.DataDir} at a writable folder");
        }
        finally
        {
            if (File.Exists(scratch)) File.Delete(scratch);
        }
    }

    public static DoctorCheck Postgres(string? connectionString)
    {
        const string name = "PostgreSQL";
        if (string.IsNullOrWhiteSpace(connectionString))
            return DoctorCheck.Skipped(name,
                $"not configured ({SeloraSettings.Keys.PostgresConnectionString} or SELORA_POSTGRES); SQLite is used");
        string target;
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
            target = $"{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}";
        }
        catch (Exception e)
        {
            return DoctorCheck.Failed(name, "the connection string does not parse: " + e.Message,
                $"fix {SeloraSettings.Keys.PostgresConnectionString}, e.g. Host=127.0.0.1;Username=selora;Password=...;Database=selora");
        }
        try
        {
            if (builder.Timeout > 10 || builder.Timeout == 0) builder.Timeout = 10;
            using var connection = new NpgsqlConnection(builder.ToString());
            connection.Open();
            using var command = new NpgsqlCommand("select current_setting('server_version')", connection);
            return DoctorCheck.Ok(name, $"PostgreSQL {command.ExecuteScalar()} at {target}");
        }
        catch (Exception e)
        {
            return DoctorCheck.Failed(name, $"{target}: {e.GetBaseException().Message}",
                "start the server (Debian: pg_ctlcluster 15 main start) and check host, user, password and database in " +
                $"{SeloraSettings.Keys.PostgresConnectionString} or SELORA_POSTGRES");
        }
    }

    static string Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar()) ?? "";
    }

    static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
