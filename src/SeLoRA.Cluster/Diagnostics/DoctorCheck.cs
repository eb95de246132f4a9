namespace SeLoRA.Cluster.Diagnostics;

public enum CheckStatus { Ok, Skipped, Failed }

/// <summary>One line of `selora doctor`: what was checked, what was found, and on failure how to fix it.</summary>
public sealed record DoctorCheck(string Name, CheckStatus Status, string Detail, string? Fix = null)
{
    public static DoctorCheck Ok(string name, string detail) => new(name, CheckStatus.Ok, detail);
    public static DoctorCheck Skipped(string name, string detail) => new(name, CheckStatus.Skipped, detail);
    public static DoctorCheck Failed(string name, string detail, string fix) => new(name, CheckStatus.Failed, detail, fix);
}
