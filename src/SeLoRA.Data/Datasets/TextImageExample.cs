namespace SeLoRA.Data.Datasets;

/// <summary>
/// One image with its prompt. <paramref name="Id"/> is stable across machines (a file name or the dataset's own id), so
/// split manifests can name it; <paramref name="ImagePath"/> is absolute. Labels carry reader-specific fields
/// (projection, uid, label, sex, age, split, ...).
/// </summary>
public sealed record TextImageExample(string Id, string ImagePath, string Prompt, IReadOnlyDictionary<string, string> Labels)
{
    public static readonly IReadOnlyDictionary<string, string> NoLabels = new Dictionary<string, string>();
}
