using SeLoRA.Diffusion.Imaging;
using SkiaSharp;

namespace SeLoRA.Evaluation.Reports;

/// <summary>
/// A PNG per dataset of real and generated images for the same prompts: rows are the first K samples (by
/// <see cref="EvaluationSample.Id"/>) that every shown run generated, in the first method's order; columns are the real
/// image, then one generated image per method from its lowest-seed run; each row's prompt is wrapped beside it.
/// Images keep their aspect ratio inside square cells. A missing image becomes a grey placeholder and a warning.
/// </summary>
public static class ResultsGrid
{
    public const int Margin = 8;
    public const int Gap = 4;
    public const int HeaderHeight = 22;
    public const int PromptWidth = 220;
    const int FontSize = 11;
    const int LineHeight = FontSize + 3;

    static readonly SKColor Background = SKColors.White;
    static readonly SKColor Placeholder = new(0xEC, 0xEC, 0xEC);
    static readonly SKColor Border = new(0xC8, 0xC8, 0xC8);
    static readonly SKColor Muted = new(0x70, 0x70, 0x70);

    /// <summary>results-grid-&lt;dataset&gt;.png, the dataset reduced to letters, digits, '.', '_' and '-'.</summary>
    public static string FileName(string dataset)
    {
        var safe = new string(dataset.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-').ToArray()).Trim('-', '.');
        return $"results-grid-{(safe.Length == 0 ? "dataset" : safe)}.png";
    }

    /// <summary>Width and height of a grid of <paramref name="rows"/> prompts and <paramref name="columns"/> image columns (real included).</summary>
    public static (int Width, int Height) Size(int rows, int columns, int cell) =>
        (2 * Margin + PromptWidth + Gap + columns * cell + (columns - 1) * Gap,
         2 * Margin + HeaderHeight + rows * cell + (rows - 1) * Gap);

    internal static (int X, int Y) CellOrigin(int row, int column, int cell) =>
        (Margin + PromptWidth + Gap + column * (cell + Gap), Margin + HeaderHeight + row * (cell + Gap));

    /// <summary>One grid per dataset of <paramref name="runs"/>, written to &lt;folder&gt;/results-grid-&lt;dataset&gt;.png; a dataset without common samples is a warning.</summary>
    public static (IReadOnlyList<ResultsGridImage> Images, IReadOnlyList<string> Warnings) SaveAll(
        IEnumerable<ResultsRun> runs, string folder, int prompts = 4, int cell = 128)
    {
        var all = runs.ToList();
        var images = new List<ResultsGridImage>();
        var warnings = new List<string>();
        foreach (var dataset in all.Select(r => r.Report.Dataset).Distinct().Order(StringComparer.Ordinal))
        {
            var shown = ShownRuns(all, dataset);
            if (CommonSamples(shown, prompts).Count == 0)
            {
                warnings.Add($"{dataset}: no grid, the runs {string.Join(", ", shown.Select(r => r.RunDirectory))} have no evaluation sample id in common");
                continue;
            }
            var image = Save(all, dataset, Path.Combine(folder, FileName(dataset)), prompts, cell);
            images.Add(image);
            warnings.AddRange(image.Warnings);
        }
        return (images, warnings);
    }

    /// <summary>Draws the grid of <paramref name="dataset"/>; throws when its runs share no sample id.</summary>
    public static ResultsGridImage Save(IEnumerable<ResultsRun> runs, string dataset, string path, int prompts = 4, int cell = 128)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(prompts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(cell, 16);
        var shown = ShownRuns(runs.ToList(), dataset);
        if (shown.Count == 0) throw new ArgumentException($"No run of dataset {dataset} to draw.", nameof(runs));
        var samples = CommonSamples(shown, prompts);
        if (samples.Count == 0)
            throw new InvalidDataException($"{dataset}: the runs {string.Join(", ", shown.Select(r => r.RunDirectory))} have no evaluation sample id in common.");

        var titles = new List<string> { "real" };
        titles.AddRange(shown.Select(r => $"{ResultsNaming.MethodDisplayName(r.Report.Method)} (seed {r.Report.Seed})"));
        var (width, height) = Size(samples.Count, titles.Count, cell);
        var warnings = new List<string>();

        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(Background);
        using var typeface = ContactSheet.SansTypeface();
        using var boldTypeface = ContactSheet.SansTypeface(SKFontStyle.Bold);
        using var font = new SKFont(typeface, FontSize);
        using var placeholderFont = new SKFont(typeface, FontSize);
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var muted = new SKPaint { Color = Muted, IsAntialias = true };
        using var border = new SKPaint { Color = Border, IsStroke = true, StrokeWidth = 1 };
        using var placeholder = new SKPaint { Color = Placeholder };

        for (var c = 0; c < titles.Count; c++)
        {
            using var headerFont = ContactSheet.FittingFont(boldTypeface, 12, titles[c], cell - 2);
            var (x, _) = CellOrigin(0, c, cell);
            canvas.DrawText(titles[c], x + cell / 2f, Margin + HeaderHeight - 7, SKTextAlign.Center, headerFont, text);
        }

        var maxLines = Math.Max(1, cell / LineHeight);
        for (var r = 0; r < samples.Count; r++)
        {
            var id = samples[r];
            var first = shown[0].Report.Samples.First(s => s.Id == id);
            var paths = new List<(string Path, string What)> { (shown[0].RealImagePath(first), "real") };
            foreach (var run in shown)
                paths.Add((run.GeneratedImagePath(run.Report.Samples.First(s => s.Id == id)), $"generated by {run.RunDirectory}"));

            for (var c = 0; c < paths.Count; c++)
            {
                var (x, y) = CellOrigin(r, c, cell);
                var rect = SKRect.Create(x, y, cell, cell);
                if (!TryDrawImage(canvas, paths[c].Path, rect, out var problem))
                {
                    canvas.DrawRect(rect, placeholder);
                    canvas.DrawText("missing", rect.MidX, rect.MidY + FontSize / 2f - 1, SKTextAlign.Center, placeholderFont, muted);
                    warnings.Add($"{dataset}, sample {id}: the {paths[c].What} image {paths[c].Path} {problem}; drawn as a placeholder");
                }
                canvas.DrawRect(rect, border);
            }

            var (_, top) = CellOrigin(r, 0, cell);
            var lines = ContactSheet.Wrap(first.Prompt ?? "", font, PromptWidth - 4, maxLines);
            canvas.Save();
            canvas.ClipRect(SKRect.Create(Margin, top, PromptWidth, cell));
            for (var l = 0; l < lines.Count; l++)
                canvas.DrawText(lines[l], Margin + 2, top + (l + 1) * LineHeight - 3, SKTextAlign.Left, font, text);
            canvas.Restore();
        }

        canvas.Flush();
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            using (var data = bitmap.Encode(SKEncodedImageFormat.Png, 100) ?? throw new IOException($"{path}: PNG encoding failed."))
            using (var stream = File.Create(temp))
                data.SaveTo(stream);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }

        return new ResultsGridImage
        {
            Path = full,
            Dataset = dataset,
            Width = width,
            Height = height,
            Cell = cell,
            SampleIds = samples,
            ColumnTitles = titles,
            Runs = shown.Select(r => r.RunDirectory).ToList(),
            Warnings = warnings,
        };
    }

    /// <summary>Per method (paper order), the run with the lowest seed (then the first folder by name).</summary>
    static List<ResultsRun> ShownRuns(List<ResultsRun> runs, string dataset) =>
        runs.Where(r => r.Report.Dataset == dataset)
            .GroupBy(r => ResultsNaming.MethodKey(r.Report.Method))
            .OrderBy(g => g.Key, Comparer<string>.Create(ResultsNaming.CompareMethods))
            .Select(g => g.OrderBy(r => r.Report.Seed).ThenBy(r => r.RunDirectory, StringComparer.Ordinal).First())
            .ToList();

    static List<string> CommonSamples(List<ResultsRun> shown, int count)
    {
        if (shown.Count == 0) return [];
        var others = shown.Skip(1).Select(r => r.Report.Samples.Select(s => s.Id).ToHashSet(StringComparer.Ordinal)).ToList();
        return shown[0].Report.Samples.Select(s => s.Id).Distinct(StringComparer.Ordinal)
            .Where(id => others.All(o => o.Contains(id))).Take(count).ToList();
    }

    /// <summary>Fits the image inside the cell, keeping its aspect ratio, centred; false with the reason when it cannot.</summary>
    static bool TryDrawImage(SKCanvas canvas, string path, SKRect cell, out string problem)
    {
        problem = "";
        if (!File.Exists(path))
        {
            problem = "does not exist";
            return false;
        }
        using var bitmap = SKBitmap.Decode(path);
        if (bitmap is null)
        {
            problem = "is not a readable image";
            return false;
        }
        ContactSheet.DrawFitted(canvas, bitmap, cell);
        return true;
    }
}
