using System.Text.RegularExpressions;

namespace SeLoRA.Adapters.Persistence;

/// <summary>
/// kohya-ss sd-scripts' LoRA key names (networks/lora.py): per adapted layer <c>&lt;lora name&gt;.lora_down.weight</c>
/// [r, in], <c>&lt;lora name&gt;.lora_up.weight</c> [out, r] and <c>&lt;lora name&gt;.alpha</c> (a scalar; the forward
/// scales by alpha / r), where the lora name is <c>&lt;prefix&gt;.&lt;module path&gt;</c> with every '.' replaced by '_'.
/// </summary>
/// <remarks>
/// Prefixes: <c>lora_unet</c> for the U-Net, <c>lora_te</c> for SD1.x's one text encoder, <c>lora_te1</c> /
/// <c>lora_te2</c> when there are two (SDXL). The module path is the diffusers / transformers one (sd-scripts' SD1.x U-Net
/// and transformers' CLIPTextModel use those names), e.g.
/// <c>lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q</c>,
/// <c>lora_te_text_model_encoder_layers_0_self_attn_q_proj</c>. diffusers' <c>_convert_non_diffusers_lora_to_diffusers</c>
/// reads these names back for SD1.x. Flattening loses the difference between '.' and '_', so reading a kohya file back
/// needs the model's module names (<see cref="AdapterExport.ImportKohya"/>).
/// </remarks>
public static partial class KohyaKeys
{
    public const string UnetPrefix = "lora_unet";
    public const string TextEncoderPrefix = "lora_te";
    public const string TextEncoder1Prefix = "lora_te1";
    public const string TextEncoder2Prefix = "lora_te2";
    public const string DownSuffix = ".lora_down.weight";
    public const string UpSuffix = ".lora_up.weight";
    public const string AlphaSuffix = ".alpha";

    /// <summary>sd-scripts' "ss_network_module" for LoRA.</summary>
    public const string NetworkModule = "networks.lora";

    /// <summary>What sd-scripts' resize_lora.py writes as ss_network_dim / ss_network_alpha when ranks differ per layer.</summary>
    public const string Dynamic = "Dynamic";

    /// <summary>
    /// The kohya prefix of a diffusers component name: "unet" -> lora_unet; "text_encoder" -> lora_te (lora_te1 when
    /// <paramref name="twoTextEncoders"/>); "text_encoder_2" -> lora_te2.
    /// </summary>
    /// <exception cref="NotSupportedException">Another component name (kohya has no prefix for it).</exception>
    public static string PrefixOf(string component, bool twoTextEncoders = false) => component switch
    {
        "unet" => UnetPrefix,
        "text_encoder" => twoTextEncoders ? TextEncoder1Prefix : TextEncoderPrefix,
        "text_encoder_2" => TextEncoder2Prefix,
        _ => throw new NotSupportedException(
            $"Component '{component}' has no kohya key prefix (kohya names unet -> {UnetPrefix}, text_encoder -> {TextEncoderPrefix} or {TextEncoder1Prefix}, text_encoder_2 -> {TextEncoder2Prefix})."),
    };

    /// <summary>The kohya lora name of a module: <c>&lt;prefix&gt;_&lt;module with '.' as '_'&gt;</c>.</summary>
    /// <exception cref="ArgumentException">The module name has characters kohya names cannot hold.</exception>
    public static string LoraName(string prefix, string module)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(module);
        if (!ModuleName().IsMatch(module))
            throw new ArgumentException($"Module name '{module}' cannot be written as a kohya key (letters, digits, '_' and '.' only).", nameof(module));
        return prefix + "_" + module.Replace('.', '_');
    }

    /// <summary>Splits a kohya tensor key into lora name and suffix (<see cref="DownSuffix"/>, <see cref="UpSuffix"/> or <see cref="AlphaSuffix"/>); null when it is not one.</summary>
    public static (string LoraName, string Suffix)? Split(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var m = TensorKey().Match(key);
        return m.Success ? (m.Groups[1].Value, m.Groups[2].Value) : null;
    }

    [GeneratedRegex(@"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex ModuleName();

    [GeneratedRegex(@"^(lora_(?:unet|te|te1|te2)_[A-Za-z0-9_]+)(\.lora_down\.weight|\.lora_up\.weight|\.alpha)$", RegexOptions.CultureInvariant)]
    private static partial Regex TensorKey();
}
