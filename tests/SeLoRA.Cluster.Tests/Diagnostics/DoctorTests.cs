using Microsoft.Data.Sqlite;
using SeLoRA.Cluster.Diagnostics;
using SeLoRA.Cluster.Hosting;
using SeLoRA.TestSupport;

namespace SeLoRA.Cluster.Tests.Diagnostics;

public sealed class DoctorTests : IDisposable
{
    /// <summary>Set by .ci/run to a PostgreSQL it started; the PostgreSQL test needs a real server.</summary>
    public const string TestPostgresVariable = "SELORA_TEST_POSTGRES";

    readonly string _dir = Directory.CreateTempSubdirectory("selora-doctor-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Sqlite_writes_and_reads_back_and_leaves_no_scratch_file()
    {
        var check = Doctor.Sqlite(_dir, Path.Combine(_dir, "selora.db"));
        Assert.Equal(CheckStatus.Ok, check.Status);
        Assert.Matches(@"SQLite 3\.\d+", check.Detail);
        Assert.Contains("no journal yet", check.Detail);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Sqlite_checks_an_existing_journal_without_changing_it()
    {
        var journal = Path.Combine(_dir, "selora.db");
        using (var connection = new SqliteConnection($"Data Source={journal};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "create table event_journal(id integer); insert into event_journal values (1);";
            command.ExecuteNonQuery();
        }
        var before = File.ReadAllBytes(journal);
        var check = Doctor.Sqlite(_dir, journal);
        Assert.Equal(CheckStatus.Ok, check.Status);
        Assert.Contains("passes quick_check", check.Detail);
        Assert.Equal(before, File.ReadAllBytes(journal));
    }

    [Fact]
    public void A_corrupt_journal_fails_with_a_fix_and_is_left_as_it_was()
    {
        var journal = Path.Combine(_dir, "selora.db");
        var garbage = Enumerable.Range(0, 8192).Select(i => (byte)(i * 31)).ToArray();
        File.WriteAllBytes(journal, garbage);
        var check = Doctor.Sqlite(_dir, journal);
        Assert.Equal(CheckStatus.Failed, check.Status);
        Assert.NotNull(check.Fix);
        Assert.Equal(garbage, File.ReadAllBytes(journal));
    }

    [Fact]
    public void An_unwritable_data_directory_fails_naming_the_setting()
    {
        var file = Path.Combine(_dir, "not-a-folder");
        File.WriteAllText(file, "x");
        var check = Doctor.Sqlite(file, Path.Combine(file, "selora.db"));
        Assert.Equal(CheckStatus.Failed, check.Status);
        Assert.Contains(SeloraSettings.Keys.DataDir, check.Fix);
    }

    [Fact]
    public void Postgres_is_skipped_when_not_configured()
    {
        var check = Doctor.Postgres("");
        Assert.Equal(CheckStatus.Skipped, check.Status);
        Assert.Contains(SeloraSettings.Keys.PostgresConnectionString, check.Detail);
    }

    [Fact]
    public void Postgres_that_cannot_be_reached_fails_naming_the_target_but_not_the_password()
    {
        var check = Doctor.Postgres("Host=127.0.0.1;Port=1;Username=alice;Password=s3cret;Database=runs;Timeout=3");
        Assert.Equal(CheckStatus.Failed, check.Status);
        Assert.Contains("alice@127.0.0.1:1/runs", check.Detail);
        Assert.DoesNotContain("s3cret", check.Detail + check.Fix);
        Assert.Contains("pg_ctlcluster", check.Fix);
    }

    [Fact]
    public void A_malformed_connection_string_fails_with_an_example()
    {
        var check = Doctor.Postgres("Hots=nowhere");
        Assert.Equal(CheckStatus.Failed, check.Status);
        Assert.Contains("Host=", check.Fix);
    }

    [Fact]
    public void Postgres_reports_the_server_version_of_a_real_server()
    {
        var connection = Environment.GetEnvironmentVariable(TestPostgresVariable);
        Requirements.Require(!string.IsNullOrEmpty(connection),
            $"a PostgreSQL server: set {TestPostgresVariable} to its connection string (.ci/run starts one)");
        var check = Doctor.Postgres(connection);
        Assert.True(check.Status == CheckStatus.Ok, check.Detail);
        Assert.Matches(@"PostgreSQL \d+", check.Detail);
    }

    [Fact]
    public void The_runtime_check_reports_dotnet_10()
    {
        var check = Doctor.DotNetRuntime();
        Assert.Equal(CheckStatus.Ok, check.Status);
        Assert.Contains(".NET 10", check.Detail);
    }

    [Fact]
    public void The_torch_check_names_libtorch_and_the_chosen_device()
    {
        var check = Doctor.TorchNative(new TorchSettings("cpu", 0));
        Assert.Equal(CheckStatus.Ok, check.Status);
        Assert.Contains("libtorch 2.10", check.Detail);
        Assert.Contains("selora.torch.device = cpu -> cpu", check.Detail);
        var bad = Doctor.TorchNative(new TorchSettings("tpu", 0));
        Assert.Equal(CheckStatus.Failed, bad.Status);
        Assert.Contains("selora.torch.device", bad.Fix);
    }
}
