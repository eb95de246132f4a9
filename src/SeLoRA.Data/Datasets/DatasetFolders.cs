namespace SeLoRA.Data.Datasets;

internal static class DatasetFolders
{
    public static void RequireFolder(string folder, string layout)
    {
        if (!Directory.Exists(folder))
            throw new DatasetFormatException(folder, 0, $"folder not found (expected layout: {layout}).");
    }

    public static string RequireFile(string folder, string name, string layout)
    {
        var path = Path.Combine(folder, name);
        if (!File.Exists(path))
            throw new DatasetFormatException(path, 0, $"file not found (expected layout: {layout}).");
        return path;
    }
}
