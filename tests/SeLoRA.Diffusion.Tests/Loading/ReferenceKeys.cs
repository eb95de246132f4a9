namespace SeLoRA.Diffusion.Tests.Loading;

/// <summary>Reads the sd15/*.keys.tsv lists: name TAB comma-separated shape.</summary>
static class ReferenceKeys
{
    public static Dictionary<string, long[]> Read(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => l.Split('\t'))
            .ToDictionary(p => p[0], p => p[1].Split(',').Select(long.Parse).ToArray(), StringComparer.Ordinal);
}
