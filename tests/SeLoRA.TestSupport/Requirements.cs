using Xunit;

namespace SeLoRA.TestSupport;

/// <summary>
/// A test whose prerequisite is missing skips with a clear message on a user's machine, and fails under CI=true,
/// where everything must be present.
/// </summary>
public static class Requirements
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static void Require(bool available, string whatIsMissing)
    {
        if (available) return;
        if (InCi) Assert.Fail($"CI=true, so this prerequisite must be present: {whatIsMissing}");
        Assert.Skip(whatIsMissing);
    }
}
