using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Data.Pretraining;

/// <summary>
/// Fashion-MNIST (60,000 training and 10,000 test images of 28x28 grey clothing items, 10 classes), read from the gzip'd
/// IDX files of Debian's dataset-fashion-mnist package. The project's pretraining corpus of "natural" images.
/// </summary>
public sealed class FashionMnist
{
    public const string DebianPackage = "dataset-fashion-mnist";
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";
    public const int SourceSize = 28;

    readonly byte[] _pixels;
    readonly byte[] _labels;

    FashionMnist(string imagesPath, string labelsPath, byte[] pixels, byte[] labels)
    {
        ImagesPath = imagesPath;
        LabelsPath = labelsPath;
        _pixels = pixels;
        _labels = labels;
    }

    public string ImagesPath { get; }
    public string LabelsPath { get; }
    public int Count => _labels.Length;

    /// <summary>The label (0-9) of image <paramref name="index"/>.</summary>
    public int Label(int index) => _labels[index];

    /// <summary>The caption of image <paramref name="index"/> (see <see cref="FashionMnistCaptions.Caption"/>).</summary>
    public string Caption(int index) => FashionMnistCaptions.Caption(_labels[index], index);

    /// <summary>The 28x28 pixels of one image, row-major, 0 = background.</summary>
    public ReadOnlySpan<byte> Pixels(int index) => _pixels.AsSpan(index * SourceSize * SourceSize, SourceSize * SourceSize);

    /// <summary>The "train" or "t10k" split from a folder holding {split}-images-idx3-ubyte.gz and {split}-labels-idx1-ubyte.gz.</summary>
    public static FashionMnist Load(string? folder = null, string split = "train", int? limit = null)
    {
        if (split is not ("train" or "t10k")) throw new ArgumentException($"split must be \"train\" or \"t10k\", not \"{split}\".", nameof(split));
        folder ??= DefaultFolder;
        return LoadFiles(Path.Combine(folder, $"{split}-images-idx3-ubyte.gz"), Path.Combine(folder, $"{split}-labels-idx1-ubyte.gz"), limit);
    }

    /// <summary>An images file and its labels file, both IDX (gzip'd when named .gz).</summary>
    public static FashionMnist LoadFiles(string imagesPath, string labelsPath, int? limit = null)
    {
        var (shape, pixels) = IdxFile.Read(imagesPath, IdxFile.ImagesMagic, limit);
        if (shape.Length != 3 || shape[1] != SourceSize || shape[2] != SourceSize)
            throw new InvalidDataException($"{imagesPath}: expected images of {SourceSize}x{SourceSize}, the header says {string.Join("x", shape)}.");
        var (labelShape, labels) = IdxFile.Read(labelsPath, IdxFile.LabelsMagic, limit);
        if (labelShape.Length != 1) throw new InvalidDataException($"{labelsPath}: expected one dimension of labels, the header has {labelShape.Length}.");
        if (labelShape[0] != shape[0])
            throw new InvalidDataException($"{labelsPath}: {labelShape[0]} labels for the {shape[0]} images of {imagesPath}.");
        for (var i = 0; i < labels.Length; i++)
            if (labels[i] >= FashionMnistCaptions.ClassNames.Count)
                throw new InvalidDataException($"{labelsPath}: label {labels[i]} of item {i} is outside 0-9.");
        return new FashionMnist(imagesPath, labelsPath, pixels, labels);
    }

    /// <summary>
    /// Images [B, 3, size, size] in [-1, 1]: bilinear upscaling of the 28x28 originals (align_corners false, as
    /// torchvision's Resize), grey copied to three channels.
    /// </summary>
    public Tensor Batch(IReadOnlyList<int> indices, int size = 64)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var bytes = new byte[indices.Count * SourceSize * SourceSize];
        for (var i = 0; i < indices.Count; i++) Pixels(indices[i]).CopyTo(bytes.AsSpan(i * SourceSize * SourceSize));
        using var scope = NewDisposeScope();
        var grey = tensor(bytes, new long[] { indices.Count, 1, SourceSize, SourceSize }).to(ScalarType.Float32).div(127.5).sub(1);
        var resized = size == SourceSize ? grey
            : nn.functional.interpolate(grey, new long[] { size, size }, mode: InterpolationMode.Bilinear, align_corners: false);
        return scope.MoveToOuter(resized.clamp(-1, 1).expand(-1, 3, -1, -1).contiguous());
    }
}
