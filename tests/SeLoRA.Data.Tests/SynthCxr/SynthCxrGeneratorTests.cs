using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Diffusion.Imaging;
using static TorchSharp.torch;

namespace SeLoRA.Data.Tests.SynthCxr;

public sealed class SynthCxrGeneratorTests(ITestOutputHelper output)
{
    private static readonly string[] Negations = ["no ", "not ", "normal", "without"];

    private static Dictionary<string, string> HashFiles(string dir)
        => Directory.GetFiles(dir).OrderBy(f => f, StringComparer.Ordinal)
            .ToDictionary(f => Path.GetFileName(f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    private static List<SynthCxrLabel> ReadLabels(string dir)
        => File.ReadAllLines(Path.Combine(dir, SynthCxrGenerator.LabelsFileName))
            .Select(l => JsonSerializer.Deserialize<SynthCxrLabel>(l)!).ToList();

    private static float[,] LoadGrey(string path)
    {
        using var scope = NewDisposeScope();
        var rgb = ImageFiles.LoadRgb(path);
        var h = (int)rgb.shape[1];
        var w = (int)rgb.shape[2];
        var data = rgb[0].contiguous().data<float>().ToArray();
        var grey = new float[h, w];
        for (var i = 0; i < h; i++) for (var j = 0; j < w; j++) grey[i, j] = data[i * w + j];
        return grey;
    }

    [Fact]
    public void SameSeedGivesSameBytesAndADifferentSeedDoesNot()
    {
        var a = Directory.CreateTempSubdirectory("synthcxr-a");
        var b = Directory.CreateTempSubdirectory("synthcxr-b");
        var c = Directory.CreateTempSubdirectory("synthcxr-c");
        try
        {
            SynthCxrGenerator.Generate(a.FullName, 8, 128, seed: 11);
            SynthCxrGenerator.Generate(b.FullName, 8, 128, seed: 11);
            SynthCxrGenerator.Generate(c.FullName, 8, 128, seed: 12);
            var ha = HashFiles(a.FullName);
            var hb = HashFiles(b.FullName);
            var hc = HashFiles(c.FullName);
            Assert.Equal(8 + 3, ha.Count);
            Assert.Equal(ha, hb);
            Assert.Equal(ha.Keys, hc.Keys);
            foreach (var name in ha.Keys.Where(n => n.EndsWith(".png") || n.EndsWith(".jsonl")))
                Assert.NotEqual(ha[name], hc[name]);
        }
        finally
        {
            a.Delete(true); b.Delete(true); c.Delete(true);
        }
    }

    /// <summary>Heart and thoracic widths on the heart row, from thresholded pixels: the interior dark runs are the lungs.</summary>
    internal static (double Heart, double Thorax) MeasureWidths(float[,] img, int row, float threshold = 0.45f)
    {
        var w = img.GetLength(1);
        var runs = new List<(int Start, int End)>();
        var j = 0;
        while (j < w)
        {
            if (img[row, j] < threshold)
            {
                var start = j;
                while (j < w && img[row, j] < threshold) j++;
                if (start > 0 && j < w && j - start >= 2) runs.Add((start, j - 1));
            }
            else j++;
        }
        Assert.True(runs.Count >= 2, $"row {row}: expected two lung runs, found {runs.Count}");
        var thorax = runs[^1].End - runs[0].Start + 1;
        var heart = 0;
        for (var r = 1; r < runs.Count; r++) heart = Math.Max(heart, runs[r].Start - runs[r - 1].End - 1);
        return (heart, thorax);
    }

    [Fact]
    public void MeasuredCardiothoracicRatioMatchesTheLabels()
    {
        var dir = Directory.CreateTempSubdirectory("synthcxr-ctr");
        try
        {
            SynthCxrGenerator.Generate(dir.FullName, 40, 128, seed: 5, new SynthCxrOptions { Cardiomegaly = 0.5, Effusion = 0.3 });
            var labels = ReadLabels(dir.FullName);
            Assert.Contains(labels, l => l.Cardiomegaly);
            Assert.Contains(labels, l => !l.Cardiomegaly);
            var worst = 0.0;
            foreach (var label in labels)
            {
                Assert.Equal(label.Ctr >= 0.5, label.Cardiomegaly);
                var img = LoadGrey(Path.Combine(dir.FullName, label.FileName));
                var (heart, thorax) = MeasureWidths(img, label.HeartRowPx);
                var measured = heart / thorax;
                worst = Math.Max(worst, Math.Abs(measured - label.Ctr));
                Assert.True(Math.Abs(measured - label.Ctr) <= 0.03,
                    $"{label.FileName}: measured CTR {measured:0.000} ({heart}/{thorax} px), label {label.Ctr:0.000} ({label.HeartWidthPx}/{label.ThoracicWidthPx} px)");
                Assert.True(Math.Abs(thorax - label.ThoracicWidthPx) <= 2.5, $"{label.FileName}: thorax {thorax} px vs label {label.ThoracicWidthPx}");
                Assert.Equal(label.Cardiomegaly, measured >= 0.5);
            }
            output.WriteLine($"worst |measured CTR - label| over {labels.Count} images: {worst:0.0000}");
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void EffusionSideHasTheBrighterLowerZone()
    {
        var dir = Directory.CreateTempSubdirectory("synthcxr-eff");
        try
        {
            SynthCxrGenerator.Generate(dir.FullName, 24, 128, seed: 3, new SynthCxrOptions { Effusion = 1.0 });
            var unilateral = ReadLabels(dir.FullName).Where(l => l.EffusionSide is "left" or "right").ToList();
            Assert.True(unilateral.Count >= 10, $"only {unilateral.Count} unilateral effusions");
            var sizes = unilateral.Select(l => l.EffusionSize).Distinct().Count();
            Assert.True(sizes >= 2);
            var worst = double.MaxValue;
            foreach (var label in unilateral)
            {
                var img = LoadGrey(Path.Combine(dir.FullName, label.FileName));
                double Mean(int sign)
                {
                    var half = label.ThoracicWidthPx / 2;
                    // The costophrenic recess of that side: sharp (air above the diaphragm) unless fluid fills it.
                    var cp = sign < 0 ? label.RightCostophrenicYPx : label.LeftCostophrenicYPx;
                    var y0 = (int)(cp - 0.07 * label.Size);
                    var y1 = (int)(cp - 0.005 * label.Size);
                    double sum = 0; var n = 0;
                    for (var y = y0; y <= y1; y++)
                    for (var x = (int)(label.ThoraxCenterXPx + sign * 0.8 * half); sign * (x - label.ThoraxCenterXPx) <= 0.97 * half; x += sign)
                    { sum += img[y, x]; n++; }
                    return sum / n;
                }
                var affected = label.EffusionSide == "right" ? -1 : 1;
                var gap = Mean(affected) - Mean(-affected);
                worst = Math.Min(worst, gap);
                Assert.True(gap > 0.04, $"{label.FileName}: {label.EffusionSize} {label.EffusionSide} effusion, lower zone only {gap:0.000} brighter");
            }
            output.WriteLine($"smallest affected-minus-other lower-zone brightness over {unilateral.Count} effusions: {worst:0.000}");
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void PneumothoraxSideHasALucentApexAndAPleuralLine()
    {
        var dir = Directory.CreateTempSubdirectory("synthcxr-ptx");
        try
        {
            SynthCxrGenerator.Generate(dir.FullName, 16, 128, seed: 8, new SynthCxrOptions { Pneumothorax = 1.0 });
            var labels = ReadLabels(dir.FullName);
            Assert.All(labels, l => Assert.True(l.Pneumothorax && l.PneumothoraxApicalGapPx > 0));
            Assert.Contains(labels, l => l.PneumothoraxSide == "left");
            Assert.Contains(labels, l => l.PneumothoraxSide == "right");
            var worst = int.MaxValue;
            foreach (var label in labels)
            {
                var img = LoadGrey(Path.Combine(dir.FullName, label.FileName));
                // Very dark pixels (air without lung markings) in the upper half of each hemithorax, apex to hilum.
                int Lucent(int sign)
                {
                    var count = 0;
                    for (var y = (int)label.ApexYPx; y < (int)label.HilumYPx; y++)
                    for (var d = 0.2; d <= 1.0; d += 1.0 / label.ThoracicWidthPx)
                    {
                        var x = (int)(label.ThoraxCenterXPx + sign * d * label.ThoracicWidthPx / 2);
                        if (img[y, x] < 0.085f) count++;
                    }
                    return count;
                }
                var side = label.PneumothoraxSide == "right" ? -1 : 1;
                var gap = Lucent(side) - Lucent(-side);
                worst = Math.Min(worst, gap);
                Assert.True(gap >= 8, $"{label.FileName}: {label.PneumothoraxSize} {label.PneumothoraxSide} pneumothorax, only {gap} more lucent pixels than the other apex");
            }
            output.WriteLine($"smallest excess of lucent apical pixels on the pneumothorax side: {worst}");
        }
        finally { dir.Delete(true); }
    }

    private static string[] Sentences(string text)
        => text.Split(". ", StringSplitOptions.RemoveEmptyEntries).Select(s => s.Trim().TrimEnd('.').ToLowerInvariant()).ToArray();

    private static void AssertOneSentence(string text, string[] sentences, string[] keywords, bool positive, params string[] mustContain)
    {
        var hits = sentences.Where(s => keywords.Any(s.Contains)).ToList();
        Assert.True(hits.Count == 1, $"'{text}': expected one sentence about {keywords[0]}, found {hits.Count}");
        var negated = Negations.Any(n => (hits[0] + " ").Contains(n));
        Assert.True(positive != negated, $"'{text}': sentence '{hits[0]}' should be {(positive ? "positive" : "negated")}");
        foreach (var word in mustContain) Assert.True(hits[0].Contains(word), $"'{text}': '{hits[0]}' lacks '{word}'");
    }

    [Fact]
    public void ReportsMentionEveryPositiveFindingAndNegateTheAbsentOnes()
    {
        var labels = SynthCxrGenerator.Labels(400, 128, seed: 21);
        foreach (var l in labels)
        {
            var text = l.Text;
            Assert.StartsWith("findings:", text.ToLowerInvariant().Replace("chest radiograph. ", ""));
            var s = Sentences(text.Replace("Chest radiograph. ", "").Substring(text.Replace("Chest radiograph. ", "").IndexOf(':') + 1));
            AssertOneSentence(text, s, ["heart", "cardiac", "cardiomegaly"], l.Cardiomegaly);
            AssertOneSentence(text, s, ["pleural effusion"], l.Effusion,
                l.Effusion ? [l.EffusionSide!, l.EffusionSize!] : []);
            AssertOneSentence(text, s, ["nodule", "mass"], l.Nodule || l.Mass,
                l.Nodule || l.Mass ? [l.Nodule ? "nodule" : "mass", l.LesionSide!, l.LesionZone!, "cm"] : []);
            AssertOneSentence(text, s, ["pneumothorax"], l.Pneumothorax,
                l.Pneumothorax ? [l.PneumothoraxSide!, l.PneumothoraxSize!] : []);
            var deviceWords = new[] { "catheter", "central line", "tube" };
            Assert.Equal(l.Device ? 1 : 0, s.Count(x => deviceWords.Any(x.Contains)));
            if (l.Nodule) Assert.True(l.LesionDiameterCm < 3.0);
            if (l.Mass) Assert.True(l.LesionDiameterCm >= 3.0);
            Assert.Equal(!(l.Cardiomegaly || l.Effusion || l.Nodule || l.Mass || l.Pneumothorax || l.Device), l.Normal);
        }
        var distinct = labels.Select(l => l.Text).Distinct().Count();
        output.WriteLine($"{distinct} distinct reports of {labels.Count}; longest {labels.Max(l => l.Text.Split(' ').Length)} words");
        Assert.True(distinct > labels.Count / 2, $"only {distinct} distinct reports");
        // Each finding occurs, co-occurrence happens, and normals exist.
        Assert.Contains(labels, l => l.Normal);
        Assert.Contains(labels, l => l.Mass);
        Assert.Contains(labels, l => l.Nodule);
        Assert.Contains(labels, l => l.Pneumothorax);
        Assert.Contains(labels, l => l.EffusionSide == "bilateral");
        Assert.Contains(labels, l => l.Cardiomegaly && l.Effusion);
    }

    [Fact]
    public void PhraseCorpusCoversEveryReportWord()
    {
        static IEnumerable<string> Words(string t) => t.ToLowerInvariant()
            .Split([' ', '.', ',', ':'], StringSplitOptions.RemoveEmptyEntries).Where(w => !w.Any(char.IsDigit));
        var vocabulary = SynthCxrGenerator.AllPhrases().SelectMany(Words).ToHashSet();
        var reports = SynthCxrGenerator.Reports(300, 128, seed: 2);
        Assert.Equal(300, reports.Count);
        foreach (var r in reports)
            foreach (var w in Words(r)) Assert.True(vocabulary.Contains(w), $"'{w}' of '{r}' is not in AllPhrases()");
        Assert.Equal(reports, SynthCxrGenerator.Reports(300, 128, seed: 2));
    }

    [Fact]
    public void MetadataFollowsTheImageFolderConventionAndMatchesLabels()
    {
        var dir = Directory.CreateTempSubdirectory("synthcxr-meta");
        try
        {
            var summary = SynthCxrGenerator.Generate(dir.FullName, 12, 64, seed: 9);
            var lines = File.ReadAllLines(Path.Combine(dir.FullName, SynthCxrGenerator.MetadataFileName));
            var labels = ReadLabels(dir.FullName);
            Assert.Equal(12, lines.Length);
            Assert.Equal(12, labels.Count);
            for (var i = 0; i < lines.Length; i++)
            {
                using var doc = JsonDocument.Parse(lines[i]);
                var fileName = doc.RootElement.GetProperty("file_name").GetString()!;
                var text = doc.RootElement.GetProperty("text").GetString()!;
                Assert.True(File.Exists(Path.Combine(dir.FullName, fileName)), $"line {i + 1}: {fileName} missing");
                Assert.Equal(labels[i].FileName, fileName);
                Assert.Equal(labels[i].Text, text);
                Assert.False(string.IsNullOrWhiteSpace(text));
                using var image = ImageFiles.LoadRgb(Path.Combine(dir.FullName, fileName));
                Assert.Equal(new long[] { 3, 64, 64 }, image.shape);
            }
            Assert.Equal(12, lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("file_name").GetString()).Distinct().Count());
            Assert.Equal(labels.Count(l => l.Effusion), summary.FindingCounts["effusion"]);
            Assert.Equal(labels.Count(l => l.Normal), summary.FindingCounts["normal"]);
            Assert.Equal(labels, SynthCxrGenerator.Labels(12, 64, seed: 9));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void FiftyImagesAt128PixelsAreFast()
    {
        var dir = Directory.CreateTempSubdirectory("synthcxr-speed");
        try
        {
            var watch = Stopwatch.StartNew();
            var summary = SynthCxrGenerator.Generate(dir.FullName, 50, 128, seed: 1);
            watch.Stop();
            output.WriteLine($"50 images at 128 px: {watch.Elapsed.TotalSeconds:0.00} s on {Environment.ProcessorCount} cores; "
                             + string.Join(", ", summary.FindingCounts.Select(kv => $"{kv.Key} {kv.Value}")));
            Assert.Equal(50, Directory.GetFiles(dir.FullName, "*.png").Length);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void BadArgumentsAreRejectedWithTheirNames()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => SynthCxrGenerator.Sample(0, size: 16));
        Assert.Contains("size", ex.Message);
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => SynthCxrGenerator.Labels(1, options: new SynthCxrOptions { Effusion = 1.5 }));
        Assert.Contains("Effusion", bad.Message);
    }

    [Fact]
    public void PreviewSamples()
    {
        // Writes inspectable samples when SYNTHCXR_PREVIEW names a folder; otherwise only checks one image's range.
        var target = Environment.GetEnvironmentVariable("SYNTHCXR_PREVIEW");
        if (string.IsNullOrEmpty(target))
        {
            var (pixels, label) = SynthCxrGenerator.Sample(0, 128, seed: 4);
            Assert.Equal(128 * 128, pixels.Length);
            Assert.All(pixels, p => Assert.InRange(p, 0f, 1f));
            Assert.Equal("cxr_000000.png", label.FileName);
            return;
        }
        var size = int.TryParse(Environment.GetEnvironmentVariable("SYNTHCXR_PREVIEW_SIZE"), out var parsed) ? parsed : 224;
        var summary = SynthCxrGenerator.Generate(target, 16, size, seed: 7);
        output.WriteLine($"{summary.OutputDirectory}: {summary.Elapsed.TotalSeconds:0.00} s");
    }
}
