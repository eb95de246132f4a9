using Microsoft.ML.OnnxRuntime;
using SeLoRA.Torch;
using SeLoRA.Torch.Safetensors;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.FeatureNetworks;

/// <summary>
/// The offline default feature network for a Fréchet distance: the ImageNet ResNet18 that the NuGet package
/// Microsoft.ML.DnnImageFeaturizer.ResNet18 ships as ONNX (a CNTK export), run with ONNX Runtime; the features are its
/// final 7x7 average pool ("Pooling395_Output_0", [1, 512, 1, 1]), 512-d. Values from it are "FD-ResNet18", never FID.
/// </summary>
/// <remarks>
/// <para>
/// What the two graphs are (read from their metadata and nodes): the network takes "Input247" [1, 3, 224, 224] (the batch
/// dimension is fixed at 1, so images run one at a time), BGR pixels in 0..255 minus a per-pixel ImageNet mean image. The
/// package's preprocessing graph (ResNetPreprocess.onnx, "OriginalInput" to "PreprocessedInput", also [1, 3, 224, 224]) is
/// Split(RGB) -> Concat(B, G, R) -> Sub(MeanImage): ML.NET hands it RGB in 0..255. Its MeanImage averages
/// (103.06, 115.90, 123.15) over B, G, R: the ImageNet channel means.
/// </para>
/// <para>
/// Choice: the preprocessing runs here in TorchSharp, batched (resize, x255, RGB to BGR, minus the mean image), and only the
/// network runs in ONNX Runtime. The mean image is read once from the package's preprocessing graph as -prep(0) (the graph is
/// affine), so it is exactly the package's. The resize has to be ours anyway (the graphs take 224x224 only), and one
/// TorchSharp pass over the batch saves an ONNX Runtime call and two copies per image. Tests compare this preprocessing with
/// the graph's output on the same image.
/// </para>
/// </remarks>
public sealed class ResNet18FeatureNetwork : IFeatureNetwork
{
    /// <summary>Side of the square input the graphs take.</summary>
    public const int InputSize = 224;

    /// <summary>The network's input and output names.</summary>
    public const string InputName = "Input247";

    /// <inheritdoc cref="InputName"/>
    public const string OutputName = "Pooling395_Output_0";

    /// <summary>The preprocessing graph's input and output names.</summary>
    public const string PreprocessInputName = "OriginalInput";

    /// <inheritdoc cref="PreprocessInputName"/>
    public const string PreprocessOutputName = "PreprocessedInput";

    /// <summary>What a report calls this network.</summary>
    public const string NetworkName = "ResNet18 (ImageNet, ONNX)";

    /// <summary>The resize and normalisation, for reports.</summary>
    public const string PreprocessingDescription =
        "bilinear resize to 224x224 (align_corners=False, no antialias, aspect not kept), x255, RGB to BGR, minus the ImageNet mean image";

    readonly InferenceSession session;
    readonly RunOptions runOptions = new();
    readonly Tensor meanImage; // [3, 224, 224] BGR, float32
    readonly int dimension;
    bool disposed;

    /// <summary>Loads the ONNX files copied next to the assembly (<see cref="DefaultModelPath"/>, <see cref="DefaultPreprocessPath"/>).</summary>
    /// <param name="intraOpThreads">ONNX Runtime's intra-op threads; 0 takes libtorch's current thread count, so one setting governs both.</param>
    public ResNet18FeatureNetwork(int intraOpThreads = 0) : this(DefaultModelPath, DefaultPreprocessPath, intraOpThreads)
    {
    }

    /// <summary>Loads the network from <paramref name="modelPath"/> and the mean image from <paramref name="preprocessPath"/>.</summary>
    /// <exception cref="FileNotFoundException">A file is missing; the message names it.</exception>
    /// <exception cref="InvalidDataException">A graph lacks the expected inputs and outputs.</exception>
    public ResNet18FeatureNetwork(string modelPath, string preprocessPath, int intraOpThreads = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        ArgumentException.ThrowIfNullOrEmpty(preprocessPath);
        ArgumentOutOfRangeException.ThrowIfNegative(intraOpThreads);
        RequireFile(modelPath, "ResNet18 ONNX network");
        RequireFile(preprocessPath, "ResNet18 ONNX preprocessing graph");
        TorchRuntime.EnsureLoaded();
        IntraOpThreads = intraOpThreads > 0 ? intraOpThreads : Math.Max(1, get_num_threads());
        ModelPath = Path.GetFullPath(modelPath);
        meanImage = ReadMeanImage(preprocessPath);
        using var options = new SessionOptions
        {
            IntraOpNumThreads = IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        // ONNX Runtime's workers spin between ops by default; beside libtorch's own threads on a few cores that costs more
        // than it saves (32 -> 39 images/s on two cores without it).
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        try
        {
            session = new InferenceSession(modelPath, options);
            dimension = CheckNetworkGraph(session, modelPath);
        }
        catch
        {
            session?.Dispose();
            meanImage.Dispose();
            runOptions.Dispose();
            throw;
        }
    }

    /// <summary>AppContext.BaseDirectory/DnnImageModels/ResNet18Onnx/ResNet18.onnx (copied there by SeLoRA.Evaluation's build).</summary>
    public static string DefaultModelPath => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    /// <summary>AppContext.BaseDirectory/DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx.</summary>
    public static string DefaultPreprocessPath => Path.Combine(AppContext.BaseDirectory, "DnnImageModels", "ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>The network file in use.</summary>
    public string ModelPath { get; }

    /// <summary>ONNX Runtime's intra-op thread count.</summary>
    public int IntraOpThreads { get; }

    /// <inheritdoc/>
    public string Name => NetworkName;

    /// <inheritdoc/>
    public int Dimension => dimension;

    /// <inheritdoc/>
    public string Preprocessing => PreprocessingDescription;

    /// <summary>
    /// The network's input for RGB images [n, 3, H, W] in [0, 1]: float32 [n, 3, 224, 224] on the CPU, BGR, 0..255 minus
    /// the mean image. The caller owns the result.
    /// </summary>
    public Tensor Preprocess(Tensor images01)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        Validate(images01);
        using var scope = NewDisposeScope();
        var x = images01.detach().to(ScalarType.Float32, CPU);
        if (x.shape[2] != InputSize || x.shape[3] != InputSize)
            x = nn.functional.interpolate(x, size: [InputSize, InputSize], mode: InterpolationMode.Bilinear, align_corners: false);
        var bgr = x.flip(1).mul(255.0);
        return bgr.sub(meanImage).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The mean image subtracted after the x255 and RGB to BGR steps: float32 [3, 224, 224], B, G, R. The caller owns the copy.</summary>
    public Tensor MeanImage()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return meanImage.clone();
    }

    /// <inheritdoc/>
    public Tensor Features(Tensor images01)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        float[] input;
        long n;
        using (var prepared = Preprocess(images01))
        {
            n = prepared.shape[0];
            input = prepared.data<float>().ToArray();
        }
        var features = new float[n * dimension];
        const int imageLength = 3 * InputSize * InputSize;
        var single = new float[imageLength];
        long[] shape = [1, 3, InputSize, InputSize];
        string[] inputNames = [InputName];
        string[] outputNames = [OutputName];
        for (var i = 0; i < n; i++)
        {
            // The graph's batch dimension is fixed at 1: one run per image.
            Array.Copy(input, i * imageLength, single, 0, imageLength);
            using var value = OrtValue.CreateTensorValueFromMemory(single, shape);
            using var outputs = session.Run(runOptions, inputNames, [value], outputNames);
            var pooled = outputs[0].GetTensorDataAsSpan<float>();
            if (pooled.Length != dimension)
                throw new InvalidDataException($"{ModelPath}: '{OutputName}' gave {pooled.Length} values; expected {dimension}");
            pooled.CopyTo(features.AsSpan((int)(i * dimension), dimension));
        }
        return tensor(features, [n, dimension]);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        session.Dispose();
        runOptions.Dispose();
        meanImage.Dispose();
    }

    static void RequireFile(string path, string what)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"{what} not found at {Path.GetFullPath(path)} (it ships in the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18, " +
                "which SeLoRA.Evaluation's build copies to DnnImageModels/ beside the program)", path);
    }

    /// <summary>-prep(0): the graph subtracts the mean image from the reordered input, so zeros give minus the mean image.</summary>
    static Tensor ReadMeanImage(string preprocessPath)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var prep = new InferenceSession(preprocessPath, options);
        RequireIo(prep, preprocessPath, PreprocessInputName, PreprocessOutputName);
        const int length = 3 * InputSize * InputSize;
        using var zeros = OrtValue.CreateTensorValueFromMemory(new float[length], [1, 3, InputSize, InputSize]);
        using var run = new RunOptions();
        using var outputs = prep.Run(run, [PreprocessInputName], [zeros], [PreprocessOutputName]);
        var negated = outputs[0].GetTensorDataAsSpan<float>();
        if (negated.Length != length)
            throw new InvalidDataException($"{preprocessPath}: '{PreprocessOutputName}' gave {negated.Length} values; expected {length} (3x224x224)");
        var mean = new float[length];
        for (var i = 0; i < length; i++) mean[i] = -negated[i];
        return tensor(mean, [3, InputSize, InputSize]);
    }

    static int CheckNetworkGraph(InferenceSession session, string path)
    {
        RequireIo(session, path, InputName, OutputName);
        var dims = session.OutputMetadata[OutputName].Dimensions;
        // [1, 512, 1, 1]: channels of the final pool.
        if (dims.Length < 2 || dims[1] < 1 || dims.Skip(2).Any(d => d != 1))
            throw new InvalidDataException($"{path}: output '{OutputName}' has shape [{string.Join(", ", dims)}]; expected [1, d, 1, 1]");
        return dims[1];
    }

    static void RequireIo(InferenceSession session, string path, string input, string output)
    {
        if (!session.InputMetadata.TryGetValue(input, out var inMeta))
            throw new InvalidDataException($"{path}: no input '{input}' (inputs: {string.Join(", ", session.InputMetadata.Keys)})");
        if (!session.OutputMetadata.ContainsKey(output))
            throw new InvalidDataException($"{path}: no output '{output}' (outputs: {string.Join(", ", session.OutputMetadata.Keys)})");
        int[] expected = [1, 3, InputSize, InputSize];
        if (!inMeta.Dimensions.SequenceEqual(expected))
            throw new InvalidDataException($"{path}: input '{input}' has shape [{string.Join(", ", inMeta.Dimensions)}]; expected [1, 3, 224, 224]");
    }

    static void Validate(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.ndim != 4 || images.shape[1] != 3)
            throw new ArgumentException($"expected RGB images [n, 3, H, W] in [0, 1], got {SafetensorsFile.FormatShape(images.shape)}", nameof(images));
        if (!images.is_floating_point())
            throw new ArgumentException($"images must be floating point in [0, 1]; got {images.dtype} (divide 8-bit pixels by 255)", nameof(images));
        if (images.numel() == 0) return;
        // A little slack for rounding upstream; the usual slip is the VAE's [-1, 1] output.
        const double slack = 1e-3;
        using var minT = images.min().to_type(ScalarType.Float64);
        using var maxT = images.max().to_type(ScalarType.Float64);
        double min = minT.item<double>(), max = maxT.item<double>();
        if (!double.IsFinite(min) || !double.IsFinite(max) || min < -slack || max > 1 + slack)
            throw new ArgumentException($"images must lie in [0, 1]; values range over [{min}, {max}]", nameof(images));
    }
}
