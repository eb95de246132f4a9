using SeLoRA.Data.Datasets;
using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Data.LatentCache;
using SeLoRA.Data.Preprocessing;
using SeLoRA.Data.Splits;
using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Diffusion.Tokenization;
using SeLoRA.Training.Configuration;

namespace SeLoRA.Training.Engine;

/// <summary>
/// A run's data, ready to train on: the split (written to, or re-applied from, the run's split manifest), every train and
/// validation image encoded once into a latent cache, and every prompt tokenized once.
/// </summary>
public sealed class TrainingData
{
    public const string Train = "train";
    public const string Valid = "valid";
    public const string Test = "test";

    TrainingData(DatasetSplit split, LatentStore trainLatents, LatentStore validLatents, TokenizedBatch trainPrompts,
        TokenizedBatch validPrompts, long[] emptyPrompt, int truncated)
    {
        Split = split;
        TrainLatents = trainLatents;
        ValidLatents = validLatents;
        TrainPrompts = trainPrompts;
        ValidPrompts = validPrompts;
        EmptyPrompt = emptyPrompt;
        TruncatedPrompts = truncated;
    }

    public DatasetSplit Split { get; }
    public LatentStore TrainLatents { get; }
    public LatentStore ValidLatents { get; }
    public TokenizedBatch TrainPrompts { get; }
    public TokenizedBatch ValidPrompts { get; }
    public long[] EmptyPrompt { get; }
    public int TruncatedPrompts { get; }

    public IReadOnlyList<TextImageExample> TrainExamples => Split[Train];
    public IReadOnlyList<TextImageExample> ValidExamples => Split[Valid];

    /// <summary>The test split, or none when the split has no test part.</summary>
    public IReadOnlyList<TextImageExample> TestExamples => Split.Parts.TryGetValue(Test, out var t) ? t : [];

    /// <summary>Training images that decoded (dataset indices into <see cref="TrainExamples"/>); the sampler draws from these.</summary>
    public IReadOnlyList<int> UsableTrainIndices => TrainLatents.ValidIndices.ToList();

    public IReadOnlyList<int> UsableValidIndices => ValidLatents.ValidIndices.ToList();

    public static TrainingData Prepare(TrainingConfig config, StableDiffusionModels models, RunLayout layout, string latentCacheRoot,
        Action<string> log)
    {
        var spec = DatasetSpec.Parse(config.Data.Dataset);
        if (config.Data.SynthCxrCount > 0 && !File.Exists(Path.Combine(spec.Folder, SynthCxrGenerator.MetadataFileName)))
        {
            log($"generating SynthCXR: {config.Data.SynthCxrCount} images of {config.Data.SynthCxrSize} px into {Path.GetFullPath(spec.Folder)}");
            SynthCxrGenerator.Generate(spec.Folder, config.Data.SynthCxrCount, config.Data.SynthCxrSize, config.Data.SplitSeed);
        }
        else if (config.Data.SynthCxrCount > 0 && File.Exists(Path.Combine(spec.Folder, SynthCxrGenerator.InfoFileName)))
        {
            // A folder generated with other settings would silently train on different data.
            using var info = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(spec.Folder, SynthCxrGenerator.InfoFileName)));
            var count = info.RootElement.GetProperty("count").GetInt32();
            var size = info.RootElement.GetProperty("size").GetInt32();
            if (count != config.Data.SynthCxrCount || size != config.Data.SynthCxrSize)
                throw new InvalidDataException($"{Path.GetFullPath(spec.Folder)} holds SynthCXR with {count} images of {size} px, but the config asks for " +
                                               $"{config.Data.SynthCxrCount} of {config.Data.SynthCxrSize} px; point data.dataset at another folder, or delete this one.");
        }
        var dataset = DatasetFactory.Open(spec);
        if (dataset.Examples.Count == 0) throw new InvalidDataException($"{config.Data.Dataset}: the dataset has no usable examples.");
        if (dataset.Skipped.Count > 0) log($"dataset: {dataset.Skipped.Count} item(s) skipped, e.g. {dataset.Skipped[0]}");

        DatasetSplit split;
        if (File.Exists(layout.SplitManifest))
        {
            split = SplitManifest.Read(layout.SplitManifest).Apply(dataset.Examples, layout.SplitManifest);
        }
        else
        {
            split = config.Data.UseDatasetSplit
                ? DatasetSplitter.FromLabel(dataset.Examples)
                : DatasetSplitter.Split(dataset.Examples,
                    config.Data.SplitFractions.Select((f, i) => new SplitFraction(new[] { Train, Valid, Test }[i], f)).ToList(), config.Data.SplitSeed);
            Directory.CreateDirectory(layout.Directory);
            split.ToManifest(config.Data.Dataset).Write(layout.SplitManifest);
        }
        foreach (var name in new[] { Train, Valid })
            if (!split.Parts.TryGetValue(name, out var part) || part.Count == 0)
                throw new InvalidDataException($"{config.Data.Dataset}: the split has no {name} examples ({string.Join(", ", split.Names.Select(n => $"{n} {split[n].Count}"))}); " +
                                               "training needs both train and valid (the best checkpoint is chosen on valid).");
        log($"split: {string.Join(", ", split.Names.Select(n => $"{n} {split[n].Count}"))} (manifest {layout.SplitManifest})");

        var settings = new PreprocessSettings(config.Data.Resolution).Validate();
        var datasetRoot = Path.GetFullPath(spec.Folder);
        LatentStore Encode(string name)
        {
            var store = LatentStore.OpenOrBuild(latentCacheRoot, split[name].Select(e => e.ImagePath).ToList(), models.Vae, settings,
                new LatentCacheOptions(DatasetRoot: datasetRoot));
            log($"latents ({name}): {store.Count} images, {(store.Reused ? "reused" : $"{store.EncodedCount} encoded")}, cache {store.Directory}" +
                (store.SkippedImages.Count > 0 ? $", {store.SkippedImages.Count} unreadable image(s) left out" : ""));
            return store;
        }
        var trainLatents = Encode(Train);
        var validLatents = Encode(Valid);

        var tokenizer = new PromptTokenizer(models.Tokenizer);
        var trainPrompts = tokenizer.Tokenize(split[Train].Select(e => e.Prompt).ToList());
        var validPrompts = tokenizer.Tokenize(split[Valid].Select(e => e.Prompt).ToList());
        var empty = tokenizer.Tokenize([""]).Batch.Row(0);
        var truncated = trainPrompts.TruncatedCount + validPrompts.TruncatedCount;
        if (truncated > 0) log($"prompts: {truncated} of {trainPrompts.Batch.BatchSize + validPrompts.Batch.BatchSize} truncated to {tokenizer.MaxLength} tokens");
        return new TrainingData(split, trainLatents, validLatents, trainPrompts.Batch, validPrompts.Batch, empty, truncated);
    }
}
