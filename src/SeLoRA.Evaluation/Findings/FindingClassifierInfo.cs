using System.Text.Json.Serialization;

namespace SeLoRA.Evaluation.Findings;

/// <summary>
/// The JSON sidecar of a saved <see cref="FindingClassifier"/> (classifier.json beside classifier.safetensors): what it
/// was built for and trained on, and how well it did on images it never saw.
/// </summary>
/// <param name="Resolution">Side of the square grayscale input; every image is resized to it.</param>
/// <param name="Findings">Output columns, in order.</param>
/// <param name="Width">Channels of the first convolution (later ones double up to 4x).</param>
/// <param name="Seed">Seed of the initial weights, the hold-out draw and the batch order.</param>
/// <param name="LabelsHash"><see cref="FindingLabelReader.Hash"/> of the labels file trained from; null if untrained.</param>
/// <param name="ImagesHash"><see cref="FindingClassifierTrainer.ImagesHash"/> of the images trained on and held out.</param>
/// <param name="DatasetImageSize">Side of the dataset's images (before resizing), 0 if unknown.</param>
/// <param name="TrainingImages">Images the weights were fitted on.</param>
/// <param name="HeldOutImages">Images held back for <see cref="HeldOut"/>.</param>
/// <param name="Epochs">Passes over the training images.</param>
/// <param name="HeldOut">Per-finding scores on the held-back real images: the ceiling for generated ones.</param>
public sealed record FindingClassifierInfo(
    [property: JsonPropertyName("resolution")] int Resolution,
    [property: JsonPropertyName("findings")] IReadOnlyList<Finding> Findings,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("seed")] long Seed,
    [property: JsonPropertyName("labels_hash")] string? LabelsHash = null,
    [property: JsonPropertyName("images_hash")] string? ImagesHash = null,
    [property: JsonPropertyName("dataset_image_size")] int DatasetImageSize = 0,
    [property: JsonPropertyName("training_images")] int TrainingImages = 0,
    [property: JsonPropertyName("held_out_images")] int HeldOutImages = 0,
    [property: JsonPropertyName("epochs")] int Epochs = 0,
    [property: JsonPropertyName("held_out")] IReadOnlyList<FindingScore>? HeldOut = null)
{
    public const string CurrentFormat = "selora-finding-classifier/1";

    [JsonPropertyName("format")] public string Format { get; init; } = CurrentFormat;

    /// <summary>Mean held-out accuracy over the findings, or null before training.</summary>
    [JsonIgnore] public double? HeldOutMeanAccuracy => HeldOut is { Count: > 0 } h ? h.Average(s => s.Accuracy) : null;
}
