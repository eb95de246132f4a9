using SeLoRA.Torch.Randomness;
using System.Text;
using System.Text.Json;
using SeLoRA.Diffusion.Imaging;
using SeLoRA.Torch;
using TorchSharp;

namespace SeLoRA.Data.Datasets.SynthCxr;

/// <summary>
/// SynthCXR: procedural frontal chest radiographs with known findings and matching reports, for training and
/// evaluating prompt alignment without real data.
/// <para>Output folder (Hugging Face imagefolder layout): cxr_000000.png ... (8-bit, grey in RGB), metadata.jsonl
/// ({"file_name", "text"} per line), labels.jsonl (<see cref="SynthCxrLabel"/> per line) and synthcxr.json (the
/// generation parameters and finding counts).</para>
/// <para>Determinism: image i uses imageSeed = the (i+1)-th output of <see cref="SplitMix64"/> seeded with the seed;
/// its findings come from SplitMix64(imageSeed), its report from SplitMix64(Mix(imageSeed ^ 0x5245504F5254)) and its
/// pixel noise from SplitMix64(Mix(imageSeed ^ 0x504958454C53)). The same seed, count, size and options give the same
/// bytes in every file, whatever the thread count.</para>
/// <para>Pixel scale: the image side spans <see cref="SynthCxrOptions.FieldOfViewCm"/> (40 cm by default), so at 128 px
/// one pixel is 0.3125 cm and a 3 cm mass is 9.6 px across; the thorax is 0.72-0.80 of the image width (29-32 cm).</para>
/// </summary>
public static class SynthCxrGenerator
{
    public const string MetadataFileName = "metadata.jsonl";
    public const string LabelsFileName = "labels.jsonl";
    public const string InfoFileName = "synthcxr.json";

    private const ulong ReportSalt = 0x5245504F5254;   // "REPORT"
    private const ulong PixelSalt = 0x504958454C53;    // "PIXELS"

    private static readonly JsonSerializerOptions LineJson = new() { WriteIndented = false };

    /// <summary>Writes count images of size x size pixels, their reports and labels into outDir (created if needed).</summary>
    public static SynthCxrSummary Generate(string outDir, int count, int size = 128, long seed = 0, SynthCxrOptions? options = null)
    {
        options ??= SynthCxrOptions.Default;
        Validate(count, size, options);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        TorchRuntime.EnsureLoaded();
        Directory.CreateDirectory(outDir);
        var labels = new SynthCxrLabel[count];
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var (pixels, label) = Sample(i, size, seed, options);
            using var image = torch.tensor(pixels, new long[] { 1, size, size });
            ImageFiles.SavePng(image, Path.Combine(outDir, label.FileName));
            labels[i] = label;
        });

        var metadata = new StringBuilder();
        var labelLines = new StringBuilder();
        foreach (var label in labels)
        {
            metadata.Append(JsonSerializer.Serialize(new Dictionary<string, string> { ["file_name"] = label.FileName, ["text"] = label.Text }, LineJson)).Append('\n');
            labelLines.Append(JsonSerializer.Serialize(label, LineJson)).Append('\n');
        }
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        File.WriteAllText(Path.Combine(outDir, MetadataFileName), metadata.ToString(), utf8);
        File.WriteAllText(Path.Combine(outDir, LabelsFileName), labelLines.ToString(), utf8);

        var counts = CountFindings(labels);
        var info = new Dictionary<string, object>
        {
            ["generator"] = "SynthCXR",
            ["version"] = 1,
            ["count"] = count,
            ["size"] = size,
            ["seed"] = seed,
            ["options"] = options,
            ["finding_counts"] = counts,
        };
        File.WriteAllText(Path.Combine(outDir, InfoFileName), JsonSerializer.Serialize(info, new JsonSerializerOptions { WriteIndented = true }) + "\n", utf8);
        return new SynthCxrSummary(Path.GetFullPath(outDir), count, size, seed, counts, watch.Elapsed);
    }

    /// <summary>One image in memory: pixels row-major in [0, 1] (size * size) and its label, exactly as Generate writes image index.</summary>
    public static (float[] Pixels, SynthCxrLabel Label) Sample(int index, int size = 128, long seed = 0, SynthCxrOptions? options = null)
    {
        options ??= SynthCxrOptions.Default;
        Validate(1, size, options);
        var (chest, label) = Describe(index, size, seed, options);
        var pixels = ChestRenderer.Render(chest, new SplitMix64(SplitMix64.Mix(label.ImageSeed ^ PixelSalt)));
        return (pixels, label);
    }

    /// <summary>The labels (with report texts) Generate would write for these arguments, without rendering anything.</summary>
    public static IReadOnlyList<SynthCxrLabel> Labels(int count, int size = 128, long seed = 0, SynthCxrOptions? options = null)
    {
        options ??= SynthCxrOptions.Default;
        Validate(count, size, options);
        return Enumerable.Range(0, count).Select(i => Describe(i, size, seed, options).Label).ToList();
    }

    /// <summary>Prompt corpus for a tokenizer vocabulary: the reports of the first count images of a seed.</summary>
    public static IReadOnlyList<string> Reports(int count, int size = 128, long seed = 0, SynthCxrOptions? options = null)
        => Labels(count, size, seed, options).Select(l => l.Text).ToList();

    /// <summary>Every report sentence template with every slot value filled in: covers the whole report vocabulary.</summary>
    public static IReadOnlyList<string> AllPhrases() => ChestReportWriter.AllPhrases().Distinct().ToList();

    public static string FileNameOf(int index) => $"cxr_{index:D6}.png";

    /// <summary>The seed image index uses: the (index + 1)-th output of SplitMix64(seed).</summary>
    public static ulong ImageSeed(long seed, int index)
        => SplitMix64.Mix(unchecked((ulong)seed + 0x9E3779B97F4A7C15UL * (ulong)(index + 1)));

    private static (ChestCase Chest, SynthCxrLabel Label) Describe(int index, int size, long seed, SynthCxrOptions options)
    {
        if (index < 0) throw new ArgumentOutOfRangeException(nameof(index), index, "SynthCXR image index must be non-negative.");
        var imageSeed = ImageSeed(seed, index);
        var chest = ChestCaseSampler.Sample(new SplitMix64(imageSeed), size, options);
        var text = ChestReportWriter.Write(chest, new SplitMix64(SplitMix64.Mix(imageSeed ^ ReportSalt)));
        return (chest, SynthCxrLabel.From(chest, FileNameOf(index), index, imageSeed, text));
    }

    private static Dictionary<string, int> CountFindings(IEnumerable<SynthCxrLabel> labels)
    {
        var counts = new Dictionary<string, int>
        {
            ["normal"] = 0, ["cardiomegaly"] = 0, ["effusion"] = 0, ["nodule"] = 0, ["mass"] = 0, ["pneumothorax"] = 0, ["device"] = 0,
        };
        foreach (var l in labels)
        {
            if (l.Normal) counts["normal"]++;
            if (l.Cardiomegaly) counts["cardiomegaly"]++;
            if (l.Effusion) counts["effusion"]++;
            if (l.Nodule) counts["nodule"]++;
            if (l.Mass) counts["mass"]++;
            if (l.Pneumothorax) counts["pneumothorax"]++;
            if (l.Device) counts["device"]++;
        }
        return counts;
    }

    private static void Validate(int count, int size, SynthCxrOptions options)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "SynthCXR count must be non-negative.");
        if (size < 64 || size > 2048) throw new ArgumentOutOfRangeException(nameof(size), size, "SynthCXR size must be between 64 and 2048 pixels.");
        options.Validate();
    }
}
