using SeLoRA.Diffusion.Tokenization;
using SeLoRA.Evaluation.ClipScore;
using SeLoRA.Torch;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.Clip;

/// <summary>
/// torchmetrics' CLIPScore with a CLIPModel loaded from a Hugging Face folder (openai/clip-vit-large-patch14 layout:
/// config.json, model.safetensors, vocab.json + merges.txt, preprocessor_config.json). Each pair scores
/// 100 * cos(image features, text features); the score is the mean, clamped at 0 (<see cref="ClipScoreMath"/>).
/// </summary>
public sealed class ClipScorer : IDisposable
{
    ClipScorer(ClipModel model, ClipTokenizer tokenizer, ClipImageProcessor processor, Device device, ClipPromptTruncation truncation)
    {
        Model = model;
        Tokenizer = tokenizer;
        Processor = processor;
        Device = device;
        Truncation = truncation;
    }

    public ClipModel Model { get; }
    public ClipTokenizer Tokenizer { get; }
    public ClipImageProcessor Processor { get; }
    public Device Device { get; }
    public ClipPromptTruncation Truncation { get; }

    /// <summary>The longest token sequence the text tower accepts (max_position_embeddings).</summary>
    public int MaxTokens => (int)Model.Config.TextConfig.MaxPositionEmbeddings;

    /// <summary>Loads model, tokenizer and image processor from one folder (strictly; see <see cref="ClipModel.FromPretrained"/>).</summary>
    public static ClipScorer Load(string folder, Device? device = null, ClipPromptTruncation truncation = ClipPromptTruncation.TorchMetrics)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        TorchRuntime.EnsureLoaded();
        device ??= CPU;
        var tokenizer = ClipTokenizer.FromFolder(folder);
        var processor = ClipImageProcessor.FromFolder(folder);
        var model = ClipModel.FromPretrained(folder, device);
        if (tokenizer.VocabSize > model.Config.TextConfig.VocabSize)
        {
            model.Dispose();
            throw new InvalidDataException(
                $"{folder}: the tokenizer has {tokenizer.VocabSize} tokens but text_config.vocab_size is {model.Config.TextConfig.VocabSize}.");
        }
        return new ClipScorer(model, tokenizer, processor, device, truncation);
    }

    /// <summary>
    /// Prompts as CLIPProcessor(padding=True) tokenizes them: BOS ... EOS, padded with the pad token to the longest
    /// prompt of the list, then cut to <see cref="MaxTokens"/> as <see cref="Truncation"/> says.
    /// </summary>
    public TokenizedBatch Tokenize(IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("no prompts to tokenize", nameof(prompts));
        var encoded = prompts.Select((p, i) => Tokenizer.Encode(p ?? throw new ArgumentException($"prompt {i} is null", nameof(prompts)))).ToList();
        var width = Math.Min(encoded.Max(e => e.Count), MaxTokens);
        if (Truncation == ClipPromptTruncation.KeepEos) return Tokenizer.EncodeBatch(prompts, width);

        var ids = new long[prompts.Count, width];
        var reports = new PromptTruncation[prompts.Count];
        for (var row = 0; row < encoded.Count; row++)
        {
            var tokens = encoded[row];
            var kept = Math.Min(tokens.Count, width);
            for (var j = 0; j < width; j++) ids[row, j] = j < kept ? tokens[j] : Tokenizer.PadId;
            var dropped = tokens.Count - kept;
            reports[row] = new PromptTruncation(tokens.Count, dropped, dropped > 0 ? Tokenizer.Decode(tokens.Skip(kept)) : null);
        }
        return new TokenizedBatch(ids, reports);
    }

    /// <summary>Unnormalised text features [n, projection_dim] (float32, CPU), <paramref name="batchSize"/> prompts at a time.</summary>
    public Tensor TextEmbeddings(IReadOnlyList<string> prompts, int batchSize = 32) => TextEmbeddings(prompts, batchSize, null);

    /// <summary>Unnormalised image features [n, projection_dim] (float32, CPU) of image files.</summary>
    public Tensor ImageEmbeddings(IReadOnlyList<string> imagePaths, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        return ImageEmbeddings(imagePaths.Count, batchSize, (start, count) =>
        {
            var pixels = new List<Tensor>(count);
            try
            {
                for (var i = start; i < start + count; i++) pixels.Add(Processor.PreprocessFile(imagePaths[i]));
                return stack(pixels, 0);
            }
            finally
            {
                foreach (var t in pixels) t.Dispose();
            }
        });
    }

    /// <summary>Unnormalised image features [n, projection_dim] (float32, CPU) of [C, H, W] images in [0, 1].</summary>
    public Tensor ImageEmbeddings(IReadOnlyList<Tensor> images01, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(images01);
        return ImageEmbeddings(images01.Count, batchSize, (start, count) => Processor.PreprocessBatch(images01.Skip(start).Take(count).ToList()));
    }

    /// <summary>CLIP score of image files against their prompts (pair i = image i with prompt i).</summary>
    public ClipScorerResult Score(IReadOnlyList<string> imagePaths, IReadOnlyList<string> prompts, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        RequirePairs(imagePaths.Count, prompts);
        using var images = ImageEmbeddings(imagePaths, batchSize);
        return ScoreAgainst(images, prompts, batchSize);
    }

    /// <summary>CLIP score of [C, H, W] images in [0, 1] against their prompts.</summary>
    public ClipScorerResult Score(IReadOnlyList<Tensor> images01, IReadOnlyList<string> prompts, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(images01);
        RequirePairs(images01.Count, prompts);
        using var images = ImageEmbeddings(images01, batchSize);
        return ScoreAgainst(images, prompts, batchSize);
    }

    public void Dispose() => Model.Dispose();

    ClipScorerResult ScoreAgainst(Tensor imageEmbeddings, IReadOnlyList<string> prompts, int batchSize)
    {
        var truncated = new List<int>();
        using var text = TextEmbeddings(prompts, batchSize, truncated);
        return new ClipScorerResult(ClipScoreMath.Compute(imageEmbeddings, text), truncated);
    }

    Tensor TextEmbeddings(IReadOnlyList<string> prompts, int batchSize, List<int>? truncated)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        return Batched(prompts.Count, batchSize, (start, count) =>
        {
            var batch = Tokenize(prompts.Skip(start).Take(count).ToList());
            for (var i = 0; i < batch.BatchSize; i++)
                if (batch.Truncations[i].WasTruncated) truncated?.Add(start + i);
            using var ids = batch.ToTensor(Device);
            using var mask = AttentionMask(batch);
            return Model.GetTextFeatures(ids, mask);
        });
    }

    // 1 for the tokens a prompt has (BOS..EOS, as far as they were kept), 0 for padding, as the tokenizer's attention_mask.
    Tensor AttentionMask(TokenizedBatch batch)
    {
        var mask = new long[batch.BatchSize * batch.SequenceLength];
        for (var i = 0; i < batch.BatchSize; i++)
        {
            var real = Math.Min(batch.Truncations[i].OriginalTokenCount, batch.SequenceLength);
            for (var j = 0; j < real; j++) mask[i * batch.SequenceLength + j] = 1;
        }
        return tensor(mask, [batch.BatchSize, batch.SequenceLength], ScalarType.Int64, Device);
    }

    Tensor ImageEmbeddings(int count, int batchSize, Func<int, int, Tensor> pixelBatch) =>
        Batched(count, batchSize, (start, n) =>
        {
            using var pixels = pixelBatch(start, n);
            using var onDevice = pixels.to(Device);
            return Model.GetImageFeatures(onDevice);
        });

    /// <summary>Runs <paramref name="features"/> on consecutive slices and concatenates the results on the CPU.</summary>
    static Tensor Batched(int count, int batchSize, Func<int, int, Tensor> features)
    {
        if (count == 0) throw new ArgumentException("nothing to embed");
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        using var noGrad = no_grad();
        var parts = new List<Tensor>();
        try
        {
            for (var start = 0; start < count; start += batchSize)
            {
                using var part = features(start, Math.Min(batchSize, count - start));
                parts.Add(part.detach().to(ScalarType.Float32).cpu());
            }
            return cat(parts, 0);
        }
        finally
        {
            foreach (var t in parts) t.Dispose();
        }
    }

    static void RequirePairs(int images, IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (images != prompts.Count)
            throw new ArgumentException($"expected as many images as prompts; got {images} images and {prompts.Count} prompts");
        if (images == 0) throw new ArgumentException("no image-prompt pairs to score");
    }
}
