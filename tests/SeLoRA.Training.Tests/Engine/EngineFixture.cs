using SeLoRA.Adapters.SeLora;
using SeLoRA.TestSupport;
using SeLoRA.Training.Configuration;

namespace SeLoRA.Training.Tests.Engine;

/// <summary>
/// A tiny but complete training setup shared by the engine tests: 48 SynthCXR images at 64 px (generated once), the
/// pretrained tiny base, batch 4 (9 steps per epoch), SeLoRA with lambda 1 and a test every 3 steps so expansions happen
/// within a few steps, validation and checkpoints every 2 steps.
/// </summary>
public sealed class EngineFixture : IDisposable
{
    public EngineFixture()
    {
        Root = Directory.CreateTempSubdirectory("selora-engine-tests-").FullName;
    }

    public string Root { get; }

    public string DataFolder => Path.Combine(Root, "synthcxr");

    public string RunsRoot => Path.Combine(Root, "runs");

    public TrainingConfig Config(string name, long maxSteps = 8) => new TrainingConfig
    {
        Name = name,
        Seed = 7,
        Method = AdapterMethod.SeLora,
        BaseModel = Path.Combine(RepoPaths.Root, "assets", "tiny-base"),
        Data = new DataSettings
        {
            Dataset = "folder:" + DataFolder,
            SynthCxrCount = 48,
            SynthCxrSize = 64,
            SplitFractions = [0.75, 0.125, 0.125],
            Resolution = 64,
            LatentCache = Path.Combine(Root, "latent-cache"),
        },
        Optimization = new OptimizationSettings
        {
            BatchSize = 4,
            Epochs = 0,
            MaxSteps = maxSteps,
            Adam = new SeLoRA.Adapters.Optimization.AdamOptions { LearningRate = 1e-3 },
        },
        SeLora = new SeLoraConfig { Lambda = 1.0, TestInterval = 3 },
        Validation = new ValidationSettings { EverySteps = 2, MaxSamples = 6 },
        Checkpoints = new CheckpointSettings { EverySteps = 2, Keep = 2 },
        Generation = new GenerationSettings { Count = 0, Steps = 3, Guidance = 2.0, BatchSize = 2 },
        Runtime = new RuntimeSettings { Device = "cpu" },
    };

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
