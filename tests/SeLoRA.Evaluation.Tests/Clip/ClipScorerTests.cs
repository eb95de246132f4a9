using SeLoRA.Diffusion.Imaging;
using SeLoRA.Evaluation.Clip;
using SeLoRA.Evaluation.ClipScore;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Tests.Clip;

public sealed class ClipScorerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("selora-clipscore-").FullName;
    readonly string _model;

    public ClipScorerTests()
    {
        _model = Path.Combine(_dir, "clip");
        ClipModelFolder.SaveRandom(_model, seed: 21);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static List<Tensor> Images(int count, int height, int width)
    {
        manual_seed(13);
        return Enumerable.Range(0, count).Select(_ => rand(3, height, width)).ToList();
    }

    static double[] Row(Tensor matrix, int row) => matrix[row].to(ScalarType.Float64).data<double>().ToArray();

    [Fact]
    public void ScoreIsOneHundredTimesTheCosineOfTheModelsFeatures()
    {
        using var scorer = ClipScorer.Load(_model);
        var images = Images(3, 40, 48);
        string[] prompts = ["a photo of a cat", "small left pleural effusion", "cardiomegaly, no effusion"];
        try
        {
            var result = scorer.Score(images, prompts, batchSize: 2);
            Assert.Empty(result.TruncatedPromptIndices);

            // Independently: processor -> get_image_features, ids padded by hand -> get_text_features, cosine in doubles.
            using var pixels = scorer.Processor.PreprocessBatch(images);
            var encoded = prompts.Select(p => scorer.Tokenizer.Encode(p)).ToList();
            var width = encoded.Max(e => e.Count);
            var ids = new long[prompts.Length * width];
            for (var i = 0; i < prompts.Length; i++)
                for (var j = 0; j < width; j++)
                    ids[i * width + j] = j < encoded[i].Count ? encoded[i][j] : scorer.Tokenizer.PadId;
            using var idTensor = tensor(ids, [prompts.Length, width]);
            using var _ = no_grad();
            using var imageFeatures = scorer.Model.GetImageFeatures(pixels);
            using var textFeatures = scorer.Model.GetTextFeatures(idTensor);
            var perPair = new double[prompts.Length];
            for (var i = 0; i < prompts.Length; i++)
            {
                var u = Row(imageFeatures, i);
                var v = Row(textFeatures, i);
                var dot = u.Zip(v, (a, b) => a * b).Sum();
                perPair[i] = 100 * dot / Math.Sqrt(u.Sum(a => a * a)) / Math.Sqrt(v.Sum(b => b * b));
                Assert.Equal(perPair[i], result.Result.PerSample[i], 1e-3);
            }
            Assert.Equal(Math.Max(perPair.Average(), 0), result.Score, 1e-3);

            // The same embeddings through ClipScoreMath give exactly the scorer's result.
            using var imageEmbeddings = scorer.ImageEmbeddings(images, batchSize: 3);
            using var textEmbeddings = scorer.TextEmbeddings(prompts, batchSize: 3);
            var math = ClipScoreMath.Compute(imageEmbeddings, textEmbeddings);
            for (var i = 0; i < prompts.Length; i++) Assert.Equal(math.PerSample[i], result.Result.PerSample[i], 1e-5);
        }
        finally
        {
            foreach (var t in images) t.Dispose();
        }
    }

    [Fact]
    public void ImageFilesScoreLikeTheirTensors()
    {
        using var scorer = ClipScorer.Load(_model);
        var images = Images(2, 64, 48);
        try
        {
            var paths = images.Select((image, i) =>
            {
                var path = Path.Combine(_dir, $"image-{i}.png");
                ImageFiles.SavePng(image, path);
                return path;
            }).ToList();
            string[] prompts = ["a red square", "a chest x-ray"];
            var fromFiles = scorer.Score(paths, prompts, batchSize: 1);
            var fromTensors = scorer.Score(images, prompts, batchSize: 2);
            Assert.Equal(2, fromFiles.Result.Count);
            for (var i = 0; i < 2; i++) Assert.Equal(fromTensors.Result.PerSample[i], fromFiles.Result.PerSample[i], 1e-4);
            Assert.Throws<ArgumentException>(() => scorer.Score(paths, ["only one prompt"]));
        }
        finally
        {
            foreach (var t in images) t.Dispose();
        }
    }

    [Fact]
    public void LongPromptsAreCutTo77TokensAndCounted()
    {
        var longPrompt = string.Join(' ', Enumerable.Repeat("cardiomegaly", 100));
        string[] prompts = ["a photo of a cat", longPrompt];

        using (var scorer = ClipScorer.Load(_model))
        {
            var full = scorer.Tokenizer.Encode(longPrompt);
            Assert.True(full.Count > 77);
            var batch = scorer.Tokenize(prompts);
            Assert.Equal(77, batch.SequenceLength);
            Assert.Equal(full.Take(77).Select(id => (long)id), batch.Row(1)); // torchmetrics slices: EOS is cut off
            Assert.False(batch.Truncations[0].WasTruncated);
            Assert.Equal(full.Count - 77, batch.Truncations[1].DroppedTokenCount);
            var shortRow = batch.Row(0);
            var shortIds = scorer.Tokenizer.Encode(prompts[0]);
            Assert.Equal(shortIds.Select(id => (long)id), shortRow.Take(shortIds.Count));
            Assert.All(shortRow.Skip(shortIds.Count), id => Assert.Equal(scorer.Tokenizer.PadId, id));

            // padding=True: a batch of short prompts is only as wide as its longest prompt.
            Assert.Equal(shortIds.Count, scorer.Tokenize([prompts[0], "cat"]).SequenceLength);

            var images = Images(2, 32, 32);
            try
            {
                var result = scorer.Score(images, prompts);
                Assert.Equal([1], result.TruncatedPromptIndices);
                Assert.Equal(1, result.TruncatedPrompts);
            }
            finally
            {
                foreach (var t in images) t.Dispose();
            }
        }

        using var keepEos = ClipScorer.Load(_model, truncation: ClipPromptTruncation.KeepEos);
        var kept = keepEos.Tokenize(prompts);
        Assert.Equal(77, kept.SequenceLength);
        Assert.Equal(keepEos.Tokenizer.EosId, kept.Row(1)[76]);
        Assert.True(kept.Truncations[1].WasTruncated);
    }

    [Fact]
    public void BatchSizeDoesNotChangeTheScores()
    {
        using var scorer = ClipScorer.Load(_model);
        var images = Images(4, 32, 40);
        string[] prompts = ["one", "two words", "three more words", "a photo of a dog"];
        try
        {
            var single = scorer.Score(images, prompts, batchSize: 1);
            var all = scorer.Score(images, prompts, batchSize: 4);
            for (var i = 0; i < 4; i++) Assert.Equal(all.Result.PerSample[i], single.Result.PerSample[i], 1e-4);
        }
        finally
        {
            foreach (var t in images) t.Dispose();
        }
    }
}
