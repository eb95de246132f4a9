namespace SeLoRA.Data.Datasets;

/// <summary>
/// IU X-Ray in the Kaggle layout: indiana_reports.csv (uid, MeSH, Problems, image, indication, comparison, findings,
/// impression), indiana_projections.csv (uid, filename, projection), images/images_normalized/&lt;filename&gt;. One
/// example per frontal image (as the paper); lateral images are excluded and counted. Example id = filename.
/// </summary>
public sealed class IuXrayKaggleReader : ITextImageDatasetReader
{
    public const string ReportsFile = "indiana_reports.csv";
    public const string ProjectionsFile = "indiana_projections.csv";
    public static readonly string ImagesFolder = Path.Combine("images", "images_normalized");

    public string Kind => "iu-xray";

    public string Layout => $"{ReportsFile}, {ProjectionsFile}, images/images_normalized/*.png";

    public TextImageDataset Read(string folder, DatasetOptions options, string spec)
    {
        DatasetFolders.RequireFolder(folder, Layout);
        var reportsPath = DatasetFolders.RequireFile(folder, ReportsFile, Layout);
        var projectionsPath = DatasetFolders.RequireFile(folder, ProjectionsFile, Layout);
        var imagesFolder = Path.Combine(folder, ImagesFolder);
        if (!Directory.Exists(imagesFolder))
            throw new DatasetFormatException(imagesFolder, 0, $"folder not found (expected layout: {Layout}).");

        var reports = CsvTable.Read(reportsPath);
        int uidColumn = reports.Column("uid"), findingsColumn = reports.Column("findings"), impressionColumn = reports.Column("impression");
        int meshColumn = reports.TryColumn("MeSH"), problemsColumn = reports.TryColumn("Problems");
        var byUid = new Dictionary<string, CsvRecord>(StringComparer.Ordinal);
        foreach (var row in reports.Rows)
        {
            var uid = row.Fields[uidColumn].Trim();
            if (uid.Length == 0) throw new DatasetFormatException(reportsPath, row.Line, "empty 'uid' field.");
            if (!byUid.TryAdd(uid, row))
                throw new DatasetFormatException(reportsPath, row.Line, $"duplicate uid '{uid}' (first on line {byUid[uid].Line}).");
        }

        var projections = CsvTable.Read(projectionsPath);
        int pUid = projections.Column("uid"), pFile = projections.Column("filename"), pProjection = projections.Column("projection");
        var collector = new ExampleCollector(spec, options);
        var lateral = 0;
        foreach (var row in projections.Rows)
        {
            var projection = row.Fields[pProjection].Trim();
            if (!projection.Equals("Frontal", StringComparison.OrdinalIgnoreCase)) { lateral++; continue; }
            var uid = row.Fields[pUid].Trim();
            var fileName = row.Fields[pFile].Trim();
            if (fileName.Length == 0) throw new DatasetFormatException(projectionsPath, row.Line, "empty 'filename' field.");
            if (!byUid.TryGetValue(uid, out var report))
            {
                collector.Skip(projectionsPath, row.Line, SkipCategories.NoReport, $"uid '{uid}' is not in {ReportsFile} ({fileName})");
                continue;
            }
            var findings = ExampleCollector.CleanText(report.Fields[findingsColumn]);
            var impression = ExampleCollector.CleanText(report.Fields[impressionColumn]);
            var prompt = options.Prompt switch
            {
                PromptSource.Findings => findings,
                PromptSource.Impression => impression,
                _ => string.Join(' ', new[] { findings, impression }.Where(t => t.Length > 0)),
            };
            if (prompt.Length == 0)
            {
                collector.Skip(reportsPath, report.Line, SkipCategories.NoText,
                    $"uid '{uid}' has no {SectionName(options.Prompt)} text ({fileName})");
                continue;
            }
            var imagePath = Path.Combine(imagesFolder, fileName);
            if (!collector.ImageOk(projectionsPath, row.Line, imagePath)) continue;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["uid"] = uid,
                ["projection"] = projection,
            };
            if (meshColumn >= 0) labels["mesh"] = report.Fields[meshColumn].Trim();
            if (problemsColumn >= 0) labels["problems"] = report.Fields[problemsColumn].Trim();
            collector.Add(projectionsPath, row.Line, new TextImageExample(fileName, Path.GetFullPath(imagePath), prompt, labels));
        }
        return collector.Build(projectionsPath).WithExcluded("lateral or other non-frontal view", lateral);
    }

    private static string SectionName(PromptSource source) => source switch
    {
        PromptSource.Findings => "findings",
        PromptSource.Impression => "impression",
        _ => "findings or impression",
    };
}
