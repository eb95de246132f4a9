using System.Text.RegularExpressions;

namespace SeLoRA.Cli.Tests;

/// <summary>`selora doctor` run as a separate process, the way the README tells a new user to run it.</summary>
public sealed class DoctorCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Config(string text)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.hocon");
        File.WriteAllText(path, text);
        return path;
    }

    string FastConfig() => Config("selora {\n node-name = test-node\n doctor.matmul-seconds = 0.2\n doctor.matmul-size = 256\n}");

    [Fact]
    public void On_this_machine_every_check_passes_or_is_skipped_and_a_json_log_is_written()
    {
        var result = SeloraProcess.Run(_dir, null, "doctor", "-c", FastConfig());
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Matches(@"OK\s+\.NET runtime\s+\.NET 10", result.Stdout);
        Assert.Matches(@"OK\s+TorchSharp\s+TorchSharp 0\.107\.0, libtorch 2\.10", result.Stdout);
        Assert.Matches(@"OK\s+matmul\s+\d+\.\d GFLOP/s \(256x256 float32", result.Stdout);
        Assert.Matches(@"OK\s+SQLite\s+SQLite 3\.", result.Stdout);
        Assert.Matches(@"SKIP\s+PostgreSQL\s+not configured", result.Stdout);
        Assert.Contains("All checks passed.", result.Stdout);

        var logs = Path.Combine(_dir, "runs", "nodes", "test-node", "logs");
        var log = File.ReadAllText(Assert.Single(Directory.GetFiles(logs, "selora-*.json")));
        Assert.Contains("\"Node\":\"test-node\"", log);
        Assert.Contains("doctor finished", log);
    }

    [Fact]
    public void An_unreachable_postgres_fails_the_doctor_with_a_fix()
    {
        var result = SeloraProcess.Run(_dir, new Dictionary<string, string?> { ["SELORA_POSTGRES"] = "Host=127.0.0.1;Port=1;Username=u;Database=d;Timeout=3" },
            "doctor", "-c", FastConfig());
        Assert.Equal(1, result.ExitCode);
        Assert.Matches(@"FAIL\s+PostgreSQL\s+u@127\.0\.0\.1:1/d", result.Stdout);
        Assert.Contains("fix:", result.Stdout);
        Assert.Contains("1 check(s) failed.", result.Stdout);
    }

    [Fact]
    public void A_typo_in_a_config_file_is_an_error_naming_file_and_key_not_a_stack_trace()
    {
        var file = Config("selora.torch.devcie = cpu");
        var result = SeloraProcess.Run(_dir, null, "doctor", "-c", file);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(file, result.All);
        Assert.Contains("selora.torch.devcie", result.All);
        Assert.DoesNotMatch(new Regex(@"\n\s+at "), result.All);
    }

    [Fact]
    public void Config_show_prints_the_layered_settings()
    {
        var result = SeloraProcess.Run(_dir, null, "config", "show", "--overlay", "roles/worker", "-c", Config("selora.torch.threads = 5"));
        Assert.True(result.ExitCode == 0, result.All);
        Assert.Matches(@"threads\s*:\s*5", result.Stdout);
        Assert.Matches(@"roles\s*:\s*\[\s*worker\s*\]", result.Stdout);
    }
}
