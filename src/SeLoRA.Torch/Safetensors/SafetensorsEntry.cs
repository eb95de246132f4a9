using static TorchSharp.torch;

namespace SeLoRA.Torch.Safetensors;

/// <summary>One tensor described in a safetensors header; offsets are relative to the start of the data section.</summary>
public sealed record SafetensorsEntry(string Name, string DTypeName, ScalarType DType, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public long ByteLength => End - Begin;
}
