namespace SeLoRA.Adapters.Injection;

/// <summary>
/// Which linear layers of a Stable Diffusion model pair get adapters: target patterns (see <see cref="TargetPattern"/>)
/// over the full dotted module names of each component, as named in its state dict (text encoder: <c>text_model.</c>...,
/// UNet: <c>down_blocks.</c>, <c>mid_block.</c>, <c>up_blocks.</c>, <c>time_embedding.</c>...).
/// </summary>
/// <remarks>Adapters are injected per component, so each component has its own patterns; only Linear modules are ever adapted.</remarks>
public sealed record AdapterTargets
{
    /// <summary>The preset this came from, or "custom".</summary>
    public string Name { get; init; } = "custom";

    public IReadOnlyList<string> TextEncoderPatterns { get; init; } = [];

    public IReadOnlyList<string> UnetPatterns { get; init; } = [];

    /// <summary>Off: the text encoder is left as it is, whatever its patterns say.</summary>
    public bool AdaptTextEncoder { get; init; } = true;

    /// <summary>True when the text encoder gets adapters (switched on and with at least one pattern).</summary>
    public bool AdaptsTextEncoder => AdaptTextEncoder && TextEncoderPatterns.Count > 0;

    /// <summary>The name filter for the text encoder's modules (false for every name when it is not adapted).</summary>
    public Func<string, bool> TextEncoderFilter => AdaptsTextEncoder ? TargetPattern.Any(TextEncoderPatterns.ToArray()) : _ => false;

    /// <summary>The name filter for the UNet's modules.</summary>
    public Func<string, bool> UnetFilter => UnetPatterns.Count > 0 ? TargetPattern.Any(UnetPatterns.ToArray()) : _ => false;

    /// <summary>The filter of one component by its diffusers name ("text_encoder" or "unet").</summary>
    public Func<string, bool> FilterFor(string component) => component switch
    {
        AdapterPresets.TextEncoder => TextEncoderFilter,
        AdapterPresets.Unet => UnetFilter,
        _ => throw new ArgumentException($"Unknown component '{component}' (expected {AdapterPresets.TextEncoder} or {AdapterPresets.Unet}).", nameof(component)),
    };

    /// <summary>Checks that every pattern compiles, so a bad glob fails before a model is built.</summary>
    public void Validate()
    {
        foreach (var p in TextEncoderPatterns.Concat(UnetPatterns)) _ = new TargetPattern(p);
    }

    public override string ToString() =>
        $"{Name}: text encoder [{(AdaptsTextEncoder ? string.Join(", ", TextEncoderPatterns) : "off")}], unet [{string.Join(", ", UnetPatterns)}]";
}
