using System.Text.Json.Serialization;

namespace SeLoRA.Evaluation.Findings;

/// <summary>
/// A binary SynthCXR target the finding classifier learns (<see cref="FindingTargets"/> maps labels to them and names
/// them). All five stay learnable at 64 px: the smallest nodules (0.8 cm = 1.3 px at 64 px) blur away, but the larger
/// nodules and all masses remain visible, so <see cref="Lesion"/> is measured with that ceiling (see the classifier's
/// own held-out accuracy).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<Finding>))]
public enum Finding
{
    [JsonStringEnumMemberName("cardiomegaly")] Cardiomegaly,
    [JsonStringEnumMemberName("effusion")] Effusion,
    /// <summary>Nodule or mass.</summary>
    [JsonStringEnumMemberName("lesion")] Lesion,
    [JsonStringEnumMemberName("pneumothorax")] Pneumothorax,
    [JsonStringEnumMemberName("device")] Device,
}
