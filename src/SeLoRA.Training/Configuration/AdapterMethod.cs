namespace SeLoRA.Training.Configuration;

/// <summary>The adapter a run trains: SeLoRA (the paper's method) or one of its baselines.</summary>
public enum AdapterMethod
{
    SeLora,
    Lora,
    AdaLora,
    DyLora,
}

public static class AdapterMethods
{
    public static IReadOnlyList<string> Names { get; } = ["selora", "lora", "adalora", "dylora"];

    public static string Name(this AdapterMethod method) => method switch
    {
        AdapterMethod.SeLora => "selora",
        AdapterMethod.Lora => "lora",
        AdapterMethod.AdaLora => "adalora",
        AdapterMethod.DyLora => "dylora",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };

    public static AdapterMethod Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "selora" => AdapterMethod.SeLora,
        "lora" => AdapterMethod.Lora,
        "adalora" => AdapterMethod.AdaLora,
        "dylora" => AdapterMethod.DyLora,
        _ => throw new FormatException($"unknown method '{name}'; use one of {string.Join(", ", Names)}."),
    };
}
