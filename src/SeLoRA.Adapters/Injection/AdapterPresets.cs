namespace SeLoRA.Adapters.Injection;

/// <summary>
/// Named target sets for Stable Diffusion (selora-method.md section 1 and 4). Patterns without wildcards match a name or
/// a dotted suffix of it (PEFT's rule); <c>**.resnets.*.time_emb_proj</c> is a glob over the whole name.
/// </summary>
public static class AdapterPresets
{
    /// <summary>The official SeLoRA run's 206 layers: every Linear of the text encoder's 12 layers (72); UNet to_q, to_k,
    /// to_v of attn1 and attn2, ff.net.0.proj and every resnet's time_emb_proj (134). Not time_embedding.linear_1/2,
    /// to_out.0 or ff.net.2 (left out by the original's name matching).</summary>
    public const string SeLoraPaper = "selora-paper";

    /// <summary>diffusers' LoRA trainer: UNet to_q, to_k, to_v, to_out.0; no text encoder.</summary>
    public const string DiffusersAttention = "diffusers-attn";

    /// <summary>Every Linear of both components.</summary>
    public const string AllLinear = "all-linear";

    /// <summary>diffusers' component names (also the key prefixes of diffusers' LoRA files).</summary>
    public const string TextEncoder = "text_encoder";

    public const string Unet = "unet";

    public static IReadOnlyList<string> Names { get; } = [SeLoraPaper, DiffusersAttention, AllLinear];

    public static bool IsPreset(string name) => Names.Contains(name);

    public static AdapterTargets Get(string name) => name switch
    {
        SeLoraPaper => new AdapterTargets
        {
            Name = SeLoraPaper,
            TextEncoderPatterns = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2"],
            UnetPatterns =
            [
                "attn1.to_q", "attn1.to_k", "attn1.to_v",
                "attn2.to_q", "attn2.to_k", "attn2.to_v",
                "ff.net.0.proj",
                "**.resnets.*.time_emb_proj",
            ],
        },
        DiffusersAttention => new AdapterTargets
        {
            Name = DiffusersAttention,
            TextEncoderPatterns = [],
            UnetPatterns = ["to_q", "to_k", "to_v", "to_out.0"],
            AdaptTextEncoder = false,
        },
        AllLinear => new AdapterTargets
        {
            Name = AllLinear,
            TextEncoderPatterns = ["**"],
            UnetPatterns = ["**"],
        },
        _ => throw new ArgumentException($"Unknown adapter target preset '{name}' (known: {string.Join(", ", Names)}).", nameof(name)),
    };

    /// <summary>
    /// Targets from a preset (default <see cref="SeLoraPaper"/>) and user overrides: patterns given for a component replace
    /// the preset's for that component; <paramref name="adaptTextEncoder"/> switches the text encoder on or off.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown preset, bad pattern, or the text encoder switched on with no patterns for it.</exception>
    public static AdapterTargets Resolve(string? preset = null, IReadOnlyList<string>? textEncoderPatterns = null,
        IReadOnlyList<string>? unetPatterns = null, bool? adaptTextEncoder = null)
    {
        var userPatterns = textEncoderPatterns is { Count: > 0 } || unetPatterns is { Count: > 0 };
        var targets = Get(preset ?? SeLoraPaper);
        if (textEncoderPatterns is { Count: > 0 })
            targets = targets with { TextEncoderPatterns = textEncoderPatterns.ToArray(), AdaptTextEncoder = true };
        if (unetPatterns is { Count: > 0 }) targets = targets with { UnetPatterns = unetPatterns.ToArray() };
        if (adaptTextEncoder is { } adapt)
        {
            if (adapt && targets.TextEncoderPatterns.Count == 0)
                throw new ArgumentException($"The text encoder is switched on, but preset '{targets.Name}' has no text-encoder patterns; give some.");
            targets = targets with { AdaptTextEncoder = adapt };
        }
        if (userPatterns) targets = targets with { Name = $"{targets.Name}+custom" };
        targets.Validate();
        return targets;
    }
}
