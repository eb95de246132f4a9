using SeLoRA.Training.Runs;

namespace SeLoRA.Training.Tests.Runs;

public sealed class JsonLinesLogTests : TempFolder
{
    static StepMetric Step(long step, double loss = 0.25) => new(step, (int)(step / 10), loss, 1e-4, 40 + (int)step, step * 0.5);

    [Fact]
    public void Records_round_trip_with_snake_case_names_and_non_finite_numbers()
    {
        var path = Path.Combine(Folder, "sub", "metrics.jsonl");
        StepMetric[] written = [Step(1), Step(2, double.NaN), Step(3, double.PositiveInfinity), Step(4, 0.1 + 0.2)];
        using (var log = new JsonLinesLog<StepMetric>(path))
            foreach (var record in written) log.Append(record);

        var text = File.ReadAllText(path);
        Assert.Equal(4, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.EndsWith("\n", text);
        Assert.Contains("\"learning_rate\":0.0001", text);
        Assert.Contains("\"total_rank\":", text);
        Assert.Contains("\"loss\":\"NaN\"", text);

        // Record equality compares doubles with Equals, for which NaN equals NaN.
        Assert.Equal(written, JsonLinesLog<StepMetric>.Read(path));
    }

    [Fact]
    public void Reopening_appends_after_the_existing_records()
    {
        var path = Path.Combine(Folder, "ranks.jsonl");
        using (var log = new JsonLinesLog<RankChange>(path)) log.Append(new RankChange(5, "a.to_q", 1, 2));
        using (var log = new JsonLinesLog<RankChange>(path)) log.Append(new RankChange(9, "a.to_k", 1, 2));
        Assert.Equal([new RankChange(5, "a.to_q", 1, 2), new RankChange(9, "a.to_k", 1, 2)], JsonLinesLog<RankChange>.Read(path));
    }

    [Fact]
    public void A_torn_last_line_is_skipped_and_cut_off_before_the_next_append()
    {
        var path = Path.Combine(Folder, "metrics.jsonl");
        using (var log = new JsonLinesLog<StepMetric>(path))
        {
            log.Append(Step(1));
            log.Append(Step(2));
        }
        File.AppendAllText(path, "{\"step\":3,\"epoch\":0,\"lo");

        Assert.Equal([Step(1), Step(2)], JsonLinesLog<StepMetric>.Read(path));

        using (var log = new JsonLinesLog<StepMetric>(path)) log.Append(Step(3));
        Assert.Equal([Step(1), Step(2), Step(3)], JsonLinesLog<StepMetric>.Read(path));
    }

    [Fact]
    public void A_corrupt_middle_line_is_an_error_naming_the_file_and_line()
    {
        var path = Path.Combine(Folder, "validation.jsonl");
        using (var log = new JsonLinesLog<ValidationMetric>(path)) log.Append(new ValidationMetric(0, 0, 0.3, true, 1));
        File.AppendAllText(path, "{\"step\":10,\"epoch\":1,\"loss\":oops}\n");
        using (var log = new JsonLinesLog<ValidationMetric>(path)) log.Append(new ValidationMetric(20, 2, 0.2, true, 9));

        var error = Assert.Throws<InvalidDataException>(() => JsonLinesLog<ValidationMetric>.Read(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("line 2", error.Message);
    }

    [Fact]
    public void A_missing_file_has_no_records()
    {
        Assert.Empty(JsonLinesLog<StepMetric>.Read(Path.Combine(Folder, "absent.jsonl")));
        JsonLinesLog<StepMetric>.TruncateAfter(Path.Combine(Folder, "absent.jsonl"), _ => true);
        Assert.False(File.Exists(Path.Combine(Folder, "absent.jsonl")));
    }

    [Fact]
    public void TruncateAfter_keeps_exactly_the_accepted_records_and_appending_continues()
    {
        var path = Path.Combine(Folder, "metrics.jsonl");
        using (var log = new JsonLinesLog<StepMetric>(path))
            for (var s = 1; s <= 10; s++) log.Append(Step(s));
        File.AppendAllText(path, "{\"step\":11"); // a torn line from a kill

        JsonLinesLog<StepMetric>.TruncateAfter(path, m => m.Step <= 6);

        Assert.Equal(Enumerable.Range(1, 6).Select(s => Step(s)), JsonLinesLog<StepMetric>.Read(path));
        Assert.EndsWith("\n", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(Folder)); // no temp file left behind

        using (var log = new JsonLinesLog<StepMetric>(path)) log.Append(Step(7, 0.5));
        Assert.Equal([.. Enumerable.Range(1, 6).Select(s => Step(s)), Step(7, 0.5)], JsonLinesLog<StepMetric>.Read(path));
    }
}
