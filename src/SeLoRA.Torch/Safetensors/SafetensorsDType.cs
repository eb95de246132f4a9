using static TorchSharp.torch;

namespace SeLoRA.Torch.Safetensors;

/// <summary>The safetensors dtype names and their torch element types.</summary>
public static class SafetensorsDType
{
    static readonly (string Name, ScalarType Type)[] Table =
    [
        ("F64", ScalarType.Float64), ("F32", ScalarType.Float32), ("F16", ScalarType.Float16), ("BF16", ScalarType.BFloat16),
        ("I64", ScalarType.Int64), ("I32", ScalarType.Int32), ("I16", ScalarType.Int16), ("I8", ScalarType.Int8),
        ("U8", ScalarType.Byte), ("BOOL", ScalarType.Bool),
    ];

    /// <summary>The torch type of a safetensors dtype name, or null for names torch (or this reader) cannot hold, e.g. F8_E4M3 or U32.</summary>
    public static ScalarType? ToScalarType(string name)
    {
        foreach (var (n, t) in Table)
            if (n == name) return t;
        return null;
    }

    /// <summary>The safetensors name of a torch element type; throws for types the format cannot store.</summary>
    public static string ToName(ScalarType type)
    {
        foreach (var (n, t) in Table)
            if (t == type) return n;
        throw new NotSupportedException($"safetensors cannot store tensors of type {type}");
    }

    /// <summary>Bytes per element.</summary>
    public static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
        _ => throw new NotSupportedException($"safetensors cannot store tensors of type {type}"),
    };

    /// <summary>Whether the type is a floating type (the ones a dtype policy converts).</summary>
    public static bool IsFloating(ScalarType type) =>
        type is ScalarType.Float64 or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16;
}
