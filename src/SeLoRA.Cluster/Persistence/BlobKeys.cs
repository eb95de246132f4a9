namespace SeLoRA.Cluster.Persistence;

/// <summary>Checks blob keys, so a run or file name can never climb out of its folder or need quoting.</summary>
static class BlobKeys
{
    public static void Check(string runName, long step, string name)
    {
        CheckRun(runName);
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, $"blob step {step}: expected 0 or more.");
        CheckSegment(name, "blob name");
    }

    public static void CheckRun(string runName) => CheckSegment(runName, "run name");

    static void CheckSegment(string value, string what)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 200 || value[0] == '.' ||
            !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            throw new ArgumentException($"{what} \"{value}\": expected 1 to 200 of A-Z a-z 0-9 . _ -, not starting with '.'.");
    }

    public static FileNotFoundException NotFound(string store, string runName, long step, string name) =>
        new($"{store}: no checkpoint blob {runName}/{step}/{name}.", name);
}
