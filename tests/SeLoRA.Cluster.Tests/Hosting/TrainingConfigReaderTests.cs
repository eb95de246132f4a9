using Akka.Configuration;
using SeLoRA.Adapters.Optimization;
using SeLoRA.Cluster.Hosting;
using SeLoRA.TestSupport;
using SeLoRA.Training.Configuration;

namespace SeLoRA.Cluster.Tests.Hosting;

public sealed class TrainingConfigReaderTests : IDisposable
{
    const string Required = "selora.train { base-model = \"models/sd15\"\n data.dataset = \"folder:data/mine\" }";

    readonly string _dir = Directory.CreateTempSubdirectory("selora-train-hocon-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static Config Defaults => HoconLoader.LoadDefaults(RepoPaths.Hocon);

    static Config With(string overlay) =>
        ConfigurationFactory.ParseString(overlay).WithFallback(ConfigurationFactory.ParseString(Required)).WithFallback(Defaults);

    static ConfigurationException Rejects(string overlay) =>
        Assert.Throws<ConfigurationException>(() => TrainingConfigReader.Read(With(overlay)));

    static IEnumerable<string> ExperimentNames() =>
        Directory.EnumerateFiles(Path.Combine(RepoPaths.Hocon, "experiments"), "*.hocon")
            .Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!;

    [Fact]
    public void Base_hocon_defaults_equal_the_records_defaults()
    {
        var read = TrainingConfigReader.Read(With(""));
        var expected = new TrainingConfig { BaseModel = "models/sd15", Data = new DataSettings { Dataset = "folder:data/mine" } };
        Assert.Equal(expected.ToCanonicalJson().ToJsonString(), read.ToCanonicalJson().ToJsonString());
        Assert.Equal(expected.Runtime, read.Runtime);
    }

    [Fact]
    public void Every_key_the_reader_knows_is_in_base_hocon_and_every_base_key_is_read()
    {
        var inBase = HoconLoader.LeafPaths(Defaults).Where(p => p.StartsWith(SeloraSettings.Keys.Train + ".", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
        Assert.Equal(inBase, TrainingConfigReader.Keys.All.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Values_map_to_the_records()
    {
        var config = TrainingConfigReader.Read(With("""
            selora.train {
              method = AdaLoRA
              lr-schedule { kind = constant-with-warmup, warmup-steps = 7 }
              selora { max-rank = 5, optimizer-policy = keep-old-rows }
              adalora.total-step = 900
              data.split.fractions = [0.7, 0.3]
              generation.scheduler = DDIM
              device = "cuda:1"
            }
            """));
        Assert.Equal(AdapterMethod.AdaLora, config.Method);
        Assert.Equal(LrScheduleKind.ConstantWithWarmup, config.Optimization.LrSchedule);
        Assert.Equal(7, config.Optimization.WarmupSteps);
        Assert.Equal(5, config.SeLora.MaxRank);
        Assert.Equal(RankGrowthPolicy.KeepOldRows, config.SeLora.OptimizerPolicy);
        Assert.Equal(900, config.AdaLora.TotalStep);
        Assert.Equal([0.7, 0.3], config.Data.SplitFractions);
        Assert.Equal("ddim", config.Generation.Scheduler);
        Assert.Equal("cuda:1", config.Runtime.Device);
    }

    [Fact]
    public void Zero_and_empty_mean_none_or_the_fallback()
    {
        var config = TrainingConfigReader.Read(With("selora.train.method = adalora"));
        Assert.Null(config.SeLora.MaxRank);
        Assert.Null(config.AdaLora.TotalStep); // filled by the engine from the run's step count
        Assert.Equal(1000, config.AdaLoraFor(1000).TotalStep);
        Assert.Equal("auto", config.Runtime.Device);
        Assert.Equal("cpu", TrainingConfigReader.Read(With(""), defaultDevice: "cpu").Runtime.Device);
        Assert.Equal("cuda", TrainingConfigReader.Read(With("selora.torch.device = cuda")).Runtime.Device);
        Assert.Equal("cpu", TrainingConfigReader.Read(With("selora.train.device = cpu"), defaultDevice: "cuda").Runtime.Device);
    }

    [Theory]
    [InlineData("selora.train.batch-size = 0", "selora.train.batch-size")]
    [InlineData("selora.train.batch-size = eight", "selora.train.batch-size")]
    [InlineData("selora.train.batch-size = 2.5", "selora.train.batch-size")]
    [InlineData("selora.train.gradient-accumulation = 16", "selora.train.gradient-accumulation")]
    [InlineData("selora.train.method = qlora", "selora.train.method")]
    [InlineData("selora.train.targets = everything", "selora.train.targets")]
    [InlineData("selora.train.adapt-text-encoder = perhaps", "selora.train.adapt-text-encoder")]
    [InlineData("selora.train.base-model = \"\"", "selora.train.base-model")]
    [InlineData("selora.train.name = \"a/b\"", "selora.train.name")]
    [InlineData("selora.train.data.dataset = \"\"", "selora.train.data.dataset")]
    [InlineData("selora.train.data.dataset = \"imagenet:/data\"", "selora.train.data.dataset")]
    [InlineData("selora.train.data.dataset = [a, b]", "selora.train.data.dataset")]
    [InlineData("selora.train.data.synthcxr.count = 10\nselora.train.data.dataset = \"montgomery:/data/mcu\"", "selora.train.data.synthcxr.count")]
    [InlineData("selora.train.data.split.fractions = [0.8, 0.3]", "selora.train.data.split.fractions")]
    [InlineData("selora.train.data.split.fractions = [0.9, 0.0, 0.1]", "selora.train.data.split.fractions")]
    [InlineData("selora.train.data.split.fractions = [a, b]", "selora.train.data.split.fractions")]
    [InlineData("selora.train.data.resolution = 100", "selora.train.data.resolution")]
    [InlineData("selora.train.data.prompt-dropout = 1", "selora.train.data.prompt-dropout")]
    [InlineData("selora.train { epochs = 0, max-steps = 0 }", "selora.train.epochs")]
    [InlineData("selora.train.optimizer.learning-rate = fast", "selora.train.optimizer.learning-rate")]
    [InlineData("selora.train.optimizer.beta2 = 1", "selora.train.optimizer.beta2")]
    [InlineData("selora.train.lr-schedule.kind = exponential", "selora.train.lr-schedule.kind")]
    [InlineData("selora.train.selora.lambda = 0", "selora.train.selora.lambda")]
    [InlineData("selora.train.selora.initial-rank = 0", "selora.train.selora.initial-rank")]
    [InlineData("selora.train.selora { initial-rank = 4, max-rank = 2 }", "selora.train.selora.max-rank")]
    [InlineData("selora.train.selora.optimizer-policy = keep", "selora.train.selora.optimizer-policy")]
    [InlineData("selora.train.lora.rank = 0", "selora.train.lora.rank")]
    [InlineData("selora.train.adalora.target-r = 13", "selora.train.adalora.target-r")]
    [InlineData("selora.train.adalora { total-step = 100, tinit = 60, tfinal = 40 }", "selora.train.adalora.tinit")]
    [InlineData("selora.train { method = adalora, epochs = 0, max-steps = 100, adalora { tinit = 60, tfinal = 40 } }", "selora.train.adalora.tinit")]
    [InlineData("selora.train.dylora { max-rank = 4, min-rank = 5 }", "selora.train.dylora.min-rank")]
    [InlineData("selora.train.validation.every-epochs = 0", "selora.train.validation.every-epochs")]
    [InlineData("selora.train.checkpoint.keep = 0", "selora.train.checkpoint.keep")]
    [InlineData("selora.train.generation.count = -2", "selora.train.generation.count")]
    [InlineData("selora.train.generation.scheduler = euler", "selora.train.generation.scheduler")]
    [InlineData("selora.train.device = tpu", "selora.train.device")]
    [InlineData("selora.train.log-every-seconds = 0", "selora.train.log-every-seconds")]
    public void Bad_values_name_the_full_key(string overlay, string key)
    {
        var message = Rejects(overlay).Message;
        Assert.Contains(key, message);
        Assert.Contains("expected", message);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void Defaults_alone_ask_for_the_base_model()
    {
        Assert.Contains("selora.train", Assert.Throws<ConfigurationException>(() => TrainingConfigReader.Read(ConfigurationFactory.ParseString("selora.node-name = x"))).Message);
        var error = Assert.Throws<ConfigurationException>(() => TrainingConfigReader.Read(Defaults));
        Assert.Contains("selora.train.", error.Message);
    }

    [Fact]
    public void An_unknown_training_key_in_an_overlay_is_refused()
    {
        var file = Path.Combine(_dir, "typo.hocon");
        File.WriteAllText(file, "selora.train.optimizer.learning-rat = 0.001");
        var error = Assert.Throws<ConfigurationFileException>(() => HoconLoader.Load(RepoPaths.Hocon, files: [file]));
        Assert.Contains("selora.train.optimizer.learning-rat", error.Message);
    }

    [Fact]
    public void There_are_four_methods_for_each_of_the_three_datasets()
    {
        var expected = new[] { "iu-xray", "montgomery", "synthcxr" }
            .SelectMany(d => AdapterMethods.Names.Select(m => $"{d}-{m}")).Order(StringComparer.Ordinal);
        Assert.Equal(expected, ExperimentNames());
    }

    public static TheoryData<string> Experiments() => new(ExperimentNames());

    [Theory]
    [MemberData(nameof(Experiments))]
    public void Every_experiment_loads_as_an_overlay_and_reads_to_a_valid_config(string name)
    {
        var config = TrainingConfigReader.Read(HoconLoader.Load(RepoPaths.Hocon, overlays: [$"experiments/{name}"]));
        var (dataset, method) = (name[..name.LastIndexOf('-')], name[(name.LastIndexOf('-') + 1)..]);
        Assert.Equal(AdapterMethods.Parse(method), config.Method);
        Assert.Equal(name, config.Name);
        Assert.StartsWith(dataset == "synthcxr" ? "folder:" : dataset + ":", config.Data.Dataset);
        Assert.Equal(0, config.Seed);
        if (dataset == "synthcxr")
        {
            Assert.Equal("assets/tiny-base", config.BaseModel);
            Assert.Equal(64, config.Data.Resolution);
            Assert.Equal(config.Data.Resolution, config.Data.SynthCxrSize);
        }
        else
        {
            // The paper's protocol (selora-method.md section 1).
            Assert.Equal("models/stable-diffusion-v1-5", config.BaseModel);
            Assert.Equal(224, config.Data.Resolution);
            Assert.Equal(8, config.Optimization.BatchSize);
            Assert.Equal(1e-4, config.Optimization.Adam.LearningRate);
            Assert.Equal(dataset == "montgomery" ? 100 : 10, config.Optimization.Epochs);
            Assert.Equal(42, config.Data.SplitSeed);
            Assert.Equal((50, 7.5, "pndm"), (config.Generation.Steps, config.Generation.Guidance, config.Generation.Scheduler));
            Assert.Equal((1.3, 40, 1, 8.0), (config.SeLora.Lambda, config.SeLora.TestInterval, config.SeLora.InitialRank, config.SeLora.Alpha));
        }
        if (config.Method == AdapterMethod.AdaLora)
        {
            Assert.Null(config.AdaLora.TotalStep);
            Assert.True(config.AdaLora.TInit > 0 && config.AdaLora.TFinal > 0);
        }
    }

    /// <summary>What may differ between the four experiments of one dataset: name, method and the methods' own sections.</summary>
    static readonly string[] MethodOwned = ["name:", "method:", "se-lora.", "lora.", "ada-lora.", "dy-lora."];

    [Fact]
    public void Experiments_of_one_dataset_share_everything_but_the_method()
    {
        foreach (var dataset in new[] { "iu-xray", "montgomery", "synthcxr" })
        {
            var configs = AdapterMethods.Names
                .Select(m => TrainingConfigReader.Read(HoconLoader.Load(RepoPaths.Hocon, overlays: [$"experiments/{dataset}-{m}"])))
                .ToList();
            foreach (var other in configs.Skip(1))
            {
                var differences = TrainingConfig.Differences(configs[0], other)
                    .Where(d => !MethodOwned.Any(p => d.StartsWith(p, StringComparison.Ordinal))).ToList();
                Assert.True(differences.Count == 0, $"{dataset}-{other.Method.Name()}: {string.Join("; ", differences)}");
            }
        }
    }
}
