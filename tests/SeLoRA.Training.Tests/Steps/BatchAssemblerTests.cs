using SeLoRA.Data.Datasets.SynthCxr;
using SeLoRA.Data.LatentCache;
using SeLoRA.Data.Preprocessing;
using SeLoRA.Data.Sampling;
using SeLoRA.Diffusion.Pipelines;
using SeLoRA.Diffusion.Tokenization;
using SeLoRA.TestSupport;
using SeLoRA.Training.Steps;
using static TorchSharp.torch;

namespace SeLoRA.Training.Tests.Steps;

public sealed class BatchAssemblerTests : IDisposable
{
    const int Count = 6;
    readonly string _dir = Directory.CreateTempSubdirectory("selora-assembler-").FullName;
    readonly StableDiffusionModels _models = StableDiffusionModels.Load(Path.Combine(RepoPaths.Root, "assets", "tiny-base"));
    readonly LatentStore _store;
    readonly TokenizedBatch _prompts;
    readonly long[] _empty;

    public BatchAssemblerTests()
    {
        var folder = Path.Combine(_dir, "synth");
        SynthCxrGenerator.Generate(folder, Count, 64, seed: 2);
        var paths = Enumerable.Range(0, Count).Select(i => Path.Combine(folder, SynthCxrGenerator.FileNameOf(i))).ToList();
        _store = LatentStore.OpenOrBuild(Path.Combine(_dir, "cache"), paths, _models.Vae, new PreprocessSettings(64));
        _prompts = _models.Tokenizer.EncodeBatch(SynthCxrGenerator.Reports(Count, 64, 2));
        _empty = _models.Tokenizer.EncodeBatch([""]).Row(0);
    }

    public void Dispose()
    {
        _models.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Shards_hold_exactly_the_rows_of_the_global_batch(int workers)
    {
        var assembler = new BatchAssembler(_store, _prompts, _empty, seed: 11, promptDropout: 0.5);
        var global = Enumerable.Range(0, Count).Reverse().ToList();
        using var scope = NewDisposeScope();
        var whole = assembler.Assemble(global, step: 3);
        var shards = Enumerable.Range(0, workers).Select(w =>
        {
            var (offset, count) = ShardedBatchSampler.SliceOf(Count, workers, w);
            return assembler.Assemble(global.GetRange(offset, count), step: 3);
        }).ToList();
        Assert.True(cat(shards.Select(s => s.Latents).ToArray(), 0).equal(whole.Latents).all().item<bool>());
        Assert.True(cat(shards.Select(s => s.InputIds).ToArray(), 0).equal(whole.InputIds).all().item<bool>());
        Assert.Equal(whole.SampleIndices, shards.SelectMany(s => s.SampleIndices));
    }

    [Fact]
    public void Prompt_dropout_is_keyed_and_uses_the_empty_prompt()
    {
        var assembler = new BatchAssembler(_store, _prompts, _empty, seed: 11, promptDropout: 0.5);
        var decisions = Enumerable.Range(0, 20).SelectMany(step => Enumerable.Range(0, Count).Select(i => assembler.DropsPrompt(step, i))).ToList();
        Assert.InRange(decisions.Count(d => d), 30, 90); // 120 draws at p = 0.5
        Assert.Equal(decisions, Enumerable.Range(0, 20).SelectMany(step => Enumerable.Range(0, Count).Select(i => assembler.DropsPrompt(step, i))));

        using var scope = NewDisposeScope();
        var all = new BatchAssembler(_store, _prompts, _empty, seed: 11, promptDropout: 1.0).Assemble([0, 1, 2], step: 0);
        for (var row = 0; row < 3; row++) Assert.Equal(_empty, all.InputIds[row].data<long>().ToArray());
        var none = new BatchAssembler(_store, _prompts, _empty, seed: 11).Assemble([4], step: 0);
        Assert.Equal(_prompts.Row(4), none.InputIds[0].data<long>().ToArray());
    }

    [Fact]
    public void Mismatched_inputs_are_refused()
    {
        var fewer = _models.Tokenizer.EncodeBatch(["one prompt"]);
        Assert.Contains("1 tokenized prompts", Assert.Throws<ArgumentException>(() => new BatchAssembler(_store, fewer, _empty, 0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchAssembler(_store, _prompts, _empty, 0, promptDropout: 1.5));
    }
}
