using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tokenization;

/// <summary>Prompts padded/truncated to one length: the text encoder's input_ids, plus what truncation did.</summary>
public sealed class TokenizedBatch
{
    public TokenizedBatch(long[,] inputIds, IReadOnlyList<PromptTruncation> truncations)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(truncations);
        if (truncations.Count != inputIds.GetLength(0))
            throw new ArgumentException($"{truncations.Count} truncation reports for {inputIds.GetLength(0)} prompts", nameof(truncations));
        InputIds = inputIds;
        Truncations = truncations;
    }

    /// <summary>Token ids, [batch, sequence length].</summary>
    public long[,] InputIds { get; }

    /// <summary>One report per prompt, in batch order.</summary>
    public IReadOnlyList<PromptTruncation> Truncations { get; }

    public int BatchSize => InputIds.GetLength(0);
    public int SequenceLength => InputIds.GetLength(1);
    public bool AnyTruncated => Truncations.Any(t => t.WasTruncated);

    /// <summary>The ids of row <paramref name="index"/>.</summary>
    public long[] Row(int index)
    {
        var row = new long[SequenceLength];
        for (int j = 0; j < row.Length; j++)
            row[j] = InputIds[index, j];
        return row;
    }

    /// <summary>The ids as an int64 tensor [batch, sequence length] (CPU unless a device is given); the caller disposes it.</summary>
    public Tensor ToTensor(Device? device = null)
    {
        SeLoRA.Torch.TorchRuntime.EnsureLoaded();
        var flat = new long[BatchSize * SequenceLength];
        Buffer.BlockCopy(InputIds, 0, flat, 0, flat.Length * sizeof(long));
        var ids = torch.tensor(flat, [BatchSize, SequenceLength], ScalarType.Int64);
        if (device is null || device.type == DeviceType.CPU)
            return ids;
        using (ids)
            return ids.to(device);
    }
}
