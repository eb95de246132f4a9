using System.Diagnostics;
using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Evaluation.Findings;

namespace SeLoRA.Evaluation.Tests.Findings;

/// <summary>
/// One SynthCXR training set (480 images of 64 px) and a classifier trained on it, shared by the tests that need a
/// trained classifier, plus a fresh set of 160 images from another seed that the classifier never saw.
/// </summary>
public sealed class TrainedClassifierFixture : IDisposable
{
    public const int TrainImages = 480;
    public const int FreshImages = 160;

    public TrainedClassifierFixture()
    {
        Root = Directory.CreateTempSubdirectory("selora-findings-").FullName;
        var watch = Stopwatch.StartNew();
        SynthCxrGenerator.Generate(Dataset, TrainImages, 64, seed: 11);
        SynthCxrGenerator.Generate(Fresh, FreshImages, 64, seed: 12);
        GenerateSeconds = watch.Elapsed.TotalSeconds;
        watch.Restart();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        Classifier = FindingClassifierTrainer.Train(Dataset, Options, log: Log.Add);
        TrainSeconds = watch.Elapsed.TotalSeconds;
        TrainCpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        FreshLabels = FindingLabelReader.Read(Fresh).Values.ToArray();
    }

    public static FindingTrainingOptions Options { get; } = new(Seed: 0);

    public string Root { get; }
    public string Dataset => Path.Combine(Root, "train");
    public string Fresh => Path.Combine(Root, "fresh");
    public FindingClassifier Classifier { get; }
    public IReadOnlyList<SynthCxrLabel> FreshLabels { get; }
    public string[] FreshPaths => FreshLabels.Select(l => Path.Combine(Fresh, l.FileName)).ToArray();
    public List<string> Log { get; } = [];
    public double GenerateSeconds { get; }
    public double TrainSeconds { get; }
    public double TrainCpuSeconds { get; }

    public void Dispose()
    {
        Classifier.Dispose();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
