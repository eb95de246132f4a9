using System.Text.Json.Serialization;

namespace SeLoRA.Cluster.Commands;

/// <summary>Source-generated JSON for frames: works where reflection-based serialization is disabled (trimmed or AOT hosts).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true, MaxDepth = 16)]
[JsonSerializable(typeof(CommandFrame))]
internal sealed partial class CommandJsonContext : JsonSerializerContext;
