namespace SeLoRA.Torch.Safetensors;

/// <summary>A parsed safetensors header: the tensors (in file order), the "__metadata__" strings and where the data starts.</summary>
public sealed record SafetensorsHeader(
    string Path,
    IReadOnlyList<SafetensorsEntry> Entries,
    IReadOnlyDictionary<string, string> Metadata,
    long DataStart)
{
    public SafetensorsEntry? Find(string name) => Entries.FirstOrDefault(e => e.Name == name);
}
