using System.Globalization;
using SeLoRA.Evaluation.Clip;
using static TorchSharp.torch;

namespace SeLoRA.Cluster.Evaluators;

/// <summary>torchmetrics' CLIP score of each generated image against its prompt, with a CLIP model from a local folder.</summary>
public sealed class ClipScoreMetric(string folder, Device device, int batchSize) : ICheckpointMetric
{
    readonly ClipScorer scorer = Load(folder, device);

    public string Name => MetricNames.ClipScore;

    static ClipScorer Load(string folder, Device device)
    {
        if (folder.Length == 0)
            throw new ArgumentException("selora.eval.clip-model is empty: clip-score needs a Hugging Face CLIP folder (the openai/clip-vit-large-patch14 layout).");
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"selora.eval.clip-model = \"{folder}\": no such folder.");
        return ClipScorer.Load(folder, device);
    }

    public void Measure(MetricInputs inputs, IDictionary<string, double> metrics, IDictionary<string, string> details, CancellationToken cancellation)
    {
        var result = scorer.Score(inputs.GeneratedImages, inputs.Examples.Select(e => e.Prompt).ToList(), batchSize);
        metrics[Name] = result.Score;
        details[Name] = string.Create(CultureInfo.InvariantCulture,
            $"CLIP {Path.GetFileName(Path.GetFullPath(folder).TrimEnd('/'))}, 100 x cosine averaged and clamped at 0, {result.Result.Count} image-prompt pairs, " +
            $"{result.TruncatedPrompts} prompt(s) cut to {scorer.MaxTokens} tokens");
    }

    public void Dispose() => scorer.Dispose();
}
