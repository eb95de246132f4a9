using System.Text;
using System.Text.Json;
using SeLoRA.Diffusion.Imaging;
using SeLoRA.Torch;
using SeLoRA.Torch.Nn;
using SeLoRA.Torch.Safetensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Findings;

/// <summary>
/// A small multi-label CNN that tells which SynthCXR findings an image shows: grayscale [B, 1, R, R] in [0, 1] in, one
/// logit per finding out (sigmoid = probability). Input channels: the image scaled to [-1, 1] and its difference from
/// the 7x7 local mean; four 3x3 convolution blocks (GroupNorm, ReLU; max pooling after the 1st, 2nd and 3rd), the mean
/// and max of the last maps into one linear layer, except the lesion column, which is the maximum of a per-cell lesion
/// map on the third block (see <see cref="ForwardWithLesionMap"/>). Any image is converted to grey (channel mean) and
/// resized to R (area averaging down, bilinear up), so every image size is accepted; what it refuses is a finding it
/// has no output for (<see cref="ColumnOf"/>).
/// <para>Files: <see cref="Save"/> writes the weights as safetensors and <see cref="FindingClassifierInfo"/> as a JSON
/// sidecar (same name, .json).</para>
/// </summary>
public sealed class FindingClassifier : nn.Module<Tensor, Tensor>
{
    static readonly JsonSerializerOptions SidecarJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    readonly Conv2d conv1, conv2, conv3, conv4;
    readonly GroupNorm norm1, norm2, norm3, norm4;
    readonly Linear head;
    readonly Conv2d lesion;
    readonly int lesionColumn;

    FindingClassifier(FindingClassifierInfo info) : base(nameof(FindingClassifier))
    {
        if (info.Resolution < 16 || info.Resolution % 8 != 0)
            throw new ArgumentOutOfRangeException(nameof(info), info.Resolution, "finding classifier resolution must be a multiple of 8, at least 16 px.");
        if (info.Findings.Count == 0) throw new ArgumentException("a finding classifier needs at least one finding.", nameof(info));
        if (info.Findings.Distinct().Count() != info.Findings.Count) throw new ArgumentException("findings must be distinct.", nameof(info));
        if (info.Width < 4 || info.Width % 4 != 0) throw new ArgumentOutOfRangeException(nameof(info), info.Width, "finding classifier width must be a positive multiple of 4.");
        var w = info.Width;
        conv1 = nn.Conv2d(2, w, 3, padding: 1);
        norm1 = NormLayers.GroupNorm(4, w);
        conv2 = nn.Conv2d(w, 2 * w, 3, padding: 1);
        norm2 = NormLayers.GroupNorm(4, 2 * w);
        conv3 = nn.Conv2d(2 * w, 4 * w, 3, padding: 1);
        norm3 = NormLayers.GroupNorm(4, 4 * w);
        conv4 = nn.Conv2d(4 * w, 4 * w, 3, padding: 1);
        norm4 = NormLayers.GroupNorm(4, 4 * w);
        head = nn.Linear(8 * w, info.Findings.Count);
        lesion = nn.Conv2d(4 * w, 1, 1);
        lesionColumn = info.Findings.ToList().IndexOf(Finding.Lesion);
        RegisterComponents();
        Info = info;
    }

    /// <summary>Side in input pixels of one lesion map cell.</summary>
    public const int LesionCell = 4;

    /// <summary>What this classifier was built for and, once trained, trained on.</summary>
    public FindingClassifierInfo Info { get; internal set; }

    public int Resolution => Info.Resolution;

    public IReadOnlyList<Finding> Findings => Info.Findings;

    /// <summary>A new, untrained classifier; its initial weights depend only on the seed.</summary>
    public static FindingClassifier Create(int resolution = 64, IReadOnlyList<Finding>? findings = null, int width = 8, long seed = 0)
    {
        TorchRuntime.EnsureLoaded();
        // Module constructors draw from libtorch's global generator.
        random.manual_seed(seed);
        return new FindingClassifier(new FindingClassifierInfo(resolution, (findings ?? FindingTargets.All).ToArray(), width, seed));
    }

    /// <summary>Logits [B, F] from prepared images [B, 1, R, R] in [0, 1] (see <see cref="Prepare"/>).</summary>
    public override Tensor forward(Tensor images)
    {
        var (logits, map) = ForwardWithLesionMap(images);
        map.Dispose();
        return logits;
    }

    /// <summary>
    /// Logits [B, F] and the lesion map [B, 1, R/4, R/4]: a lesion logit per 4x4 cell. The lesion column is the map's
    /// maximum, so a lesion anywhere counts; the trainer supervises the map with the lesion's marked position, which
    /// is what makes 2-px nodules learnable from a few hundred images.
    /// </summary>
    public (Tensor Logits, Tensor LesionMap) ForwardWithLesionMap(Tensor images)
    {
        using var scope = NewDisposeScope();
        // Second channel: the image minus its 7x7 local mean, which makes small bright lesions stand out from the start.
        var local = images.sub(nn.functional.avg_pool2d(images, 7, stride: 1, padding: 3, count_include_pad: false)).mul(8);
        var x = cat([images.mul(2).sub(1), local], 1);
        x = nn.functional.max_pool2d(nn.functional.relu(norm1.forward(conv1.forward(x))), 2);
        x = nn.functional.max_pool2d(nn.functional.relu(norm2.forward(conv2.forward(x))), 2);
        x = nn.functional.relu(norm3.forward(conv3.forward(x)));
        var map = lesion.forward(x);
        x = nn.functional.max_pool2d(x, 2);
        x = nn.functional.relu(norm4.forward(conv4.forward(x)));
        var logits = head.forward(cat([x.mean([2, 3]), x.amax([2, 3])], 1));
        if (lesionColumn >= 0)
        {
            var columns = logits.split(1, 1).ToArray();
            columns[lesionColumn] = map.amax([2, 3]);
            logits = cat(columns, 1);
        }
        return (scope.MoveToOuter(logits), scope.MoveToOuter(map));
    }

    /// <summary>Images [C, H, W] or [B, C, H, W] in [0, 1] (C = 1 or 3, any size) to [B, 1, R, R] grey at this resolution.</summary>
    public Tensor Prepare(Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = images.dim() switch
        {
            3 => images.unsqueeze(0),
            4 => images,
            _ => throw new ArgumentException($"expected an image [C, H, W] or a batch [B, C, H, W], got [{string.Join(", ", images.shape)}]."),
        };
        if (x.shape[1] is not (1 or 3)) throw new ArgumentException($"expected 1 or 3 channels, got {x.shape[1]}.");
        x = x.to(float32).cpu().mean([1], keepdim: true);
        long h = x.shape[2], w = x.shape[3];
        if (h != Resolution || w != Resolution)
            x = h >= Resolution && w >= Resolution
                ? nn.functional.adaptive_avg_pool2d(x, [Resolution, Resolution])
                : nn.functional.interpolate(x, [Resolution, Resolution], mode: InterpolationMode.Bilinear, align_corners: false);
        return scope.MoveToOuter(x.contiguous());
    }

    /// <summary>Reads image files (PNG, JPEG, ...) into one prepared batch [N, 1, R, R].</summary>
    public Tensor LoadImages(IReadOnlyList<string> paths)
    {
        TorchRuntime.EnsureLoaded();
        var prepared = new Tensor[paths.Count];
        try
        {
            Parallel.For(0, paths.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
            {
                using var rgb = ImageFiles.LoadRgb(paths[i]);
                prepared[i] = Prepare(rgb);
            });
            return paths.Count == 0 ? zeros(0, 1, Resolution, Resolution) : cat(prepared, 0);
        }
        finally
        {
            foreach (var t in prepared) t?.Dispose();
        }
    }

    /// <summary>Sigmoid probabilities [N][F] (columns in <see cref="Findings"/> order) for prepared images [N, 1, R, R].</summary>
    public double[][] PredictPrepared(Tensor prepared, int batchSize = 128)
    {
        if (prepared.dim() != 4 || prepared.shape[1] != 1 || prepared.shape[2] != Resolution || prepared.shape[3] != Resolution)
            throw new ArgumentException($"expected prepared images [N, 1, {Resolution}, {Resolution}], got [{string.Join(", ", prepared.shape)}]; call Prepare first.");
        var wasTraining = training;
        eval();
        try
        {
            using var noGrad = no_grad();
            var n = (int)prepared.shape[0];
            var result = new double[n][];
            for (var start = 0; start < n; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var count = Math.Min(batchSize, n - start);
                var probabilities = sigmoid(forward(prepared.narrow(0, start, count))).to(float64).data<double>().ToArray();
                for (var i = 0; i < count; i++)
                    result[start + i] = probabilities.AsSpan(i * Findings.Count, Findings.Count).ToArray();
            }
            return result;
        }
        finally
        {
            train(wasTraining);
        }
    }

    /// <summary>Sigmoid probabilities [N][F] for image files.</summary>
    public double[][] Predict(IReadOnlyList<string> imagePaths, int batchSize = 128)
    {
        using var prepared = LoadImages(imagePaths);
        return PredictPrepared(prepared, batchSize);
    }

    /// <summary>The output column of a finding; a clear error when this classifier was not trained for it.</summary>
    public int ColumnOf(Finding finding)
    {
        for (var i = 0; i < Findings.Count; i++)
            if (Findings[i] == finding) return i;
        throw new ArgumentException(
            $"this finding classifier was not trained for '{FindingTargets.Name(finding)}'; it knows {string.Join(", ", Findings.Select(FindingTargets.Name))}. Retrain it with that finding.");
    }

    /// <summary>Writes the weights to <paramref name="path"/> (safetensors) and the info to <see cref="SidecarPath"/>.</summary>
    public void Save(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory != null) Directory.CreateDirectory(directory);
        var tensors = state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous());
        try
        {
            SafetensorsFile.Save(path, tensors, SafetensorsFile.PyTorchMetadata);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
        var sidecar = SidecarPath(path);
        File.WriteAllText(sidecar + ".tmp", JsonSerializer.Serialize(Info, SidecarJson) + "\n", new UTF8Encoding(false));
        File.Move(sidecar + ".tmp", sidecar, overwrite: true);
    }

    /// <summary>The JSON sidecar of a weights file: the same path with the extension .json.</summary>
    public static string SidecarPath(string path) => Path.ChangeExtension(path, ".json");

    /// <summary>Reads only the sidecar of a saved classifier.</summary>
    public static FindingClassifierInfo ReadInfo(string path)
    {
        var sidecar = SidecarPath(path);
        if (!File.Exists(sidecar)) throw new FileNotFoundException($"{sidecar}: finding classifier sidecar not found (it is written beside {Path.GetFileName(path)}).", sidecar);
        FindingClassifierInfo? info;
        try
        {
            info = JsonSerializer.Deserialize<FindingClassifierInfo>(File.ReadAllText(sidecar), SidecarJson);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{sidecar}: not a finding classifier sidecar: {e.Message}", e);
        }
        if (info == null || info.Findings == null) throw new InvalidDataException($"{sidecar}: not a finding classifier sidecar (no findings).");
        if (info.Format != FindingClassifierInfo.CurrentFormat)
            throw new InvalidDataException($"{sidecar}: format '{info.Format}' is not {FindingClassifierInfo.CurrentFormat}.");
        return info;
    }

    /// <summary>Loads a classifier saved by <see cref="Save"/>; the weights must match the sidecar's architecture exactly.</summary>
    public static FindingClassifier Load(string path)
    {
        TorchRuntime.EnsureLoaded();
        var info = ReadInfo(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: finding classifier weights not found.", path);
        var model = new FindingClassifier(info);
        var loaded = SafetensorsFile.Load(path);
        try
        {
            var expected = model.state_dict();
            var missing = expected.Keys.Where(k => !loaded.ContainsKey(k)).ToList();
            var unexpected = loaded.Keys.Where(k => !expected.ContainsKey(k)).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
                throw new WeightFileException($"{path}: weights do not fit the sidecar's classifier (missing: {string.Join(", ", missing)}; unexpected: {string.Join(", ", unexpected)}).");
            using var noGrad = no_grad();
            foreach (var (key, target) in expected)
            {
                var source = loaded[key];
                if (!source.shape.SequenceEqual(target.shape))
                    throw new WeightFileException($"{path}: '{key}' has shape {SafetensorsFile.FormatShape(source.shape)}, the sidecar's classifier ({info.Findings.Count} findings, width {info.Width}) needs {SafetensorsFile.FormatShape(target.shape)}.");
                target.copy_(source);
            }
        }
        finally
        {
            foreach (var t in loaded.Values) t.Dispose();
        }
        model.eval();
        return model;
    }
}
