using System.Text.Json;
using SeLoRA.Diffusion.Configuration;

namespace SeLoRA.Diffusion.Models.Vae;

/// <summary>diffusers AutoencoderKL's config.json, with diffusers' defaults for absent fields.</summary>
public sealed record AutoencoderKlConfig
{
    public long InChannels { get; init; } = 3;
    public long OutChannels { get; init; } = 3;
    public string[] DownBlockTypes { get; init; } = ["DownEncoderBlock2D"];
    public string[] UpBlockTypes { get; init; } = ["UpDecoderBlock2D"];
    public long[] BlockOutChannels { get; init; } = [64];
    public int LayersPerBlock { get; init; } = 1;
    public string ActFn { get; init; } = "silu";
    public long LatentChannels { get; init; } = 4;
    public long NormNumGroups { get; init; } = 32;
    public long SampleSize { get; init; } = 32;
    public double ScalingFactor { get; init; } = 0.18215;
    public bool MidBlockAddAttention { get; init; } = true;
    public bool UseQuantConv { get; init; } = true;
    public bool UsePostQuantConv { get; init; } = true;

    /// <summary>Image pixels per latent pixel along each side: one 2x stage per block but the last.</summary>
    public int DownsampleFactor => 1 << (BlockOutChannels.Length - 1);

    public static AutoencoderKlConfig FromJson(string path) => From(ConfigJson.FromFile(path));

    public static AutoencoderKlConfig FromJson(JsonElement root, string source = "vae/config.json") => From(new ConfigJson(root, source));

    static AutoencoderKlConfig From(ConfigJson json)
    {
        var d = new AutoencoderKlConfig();
        var config = new AutoencoderKlConfig
        {
            InChannels = json.Long("in_channels", d.InChannels),
            OutChannels = json.Long("out_channels", d.OutChannels),
            DownBlockTypes = json.Strings("down_block_types", d.DownBlockTypes),
            UpBlockTypes = json.Strings("up_block_types", d.UpBlockTypes),
            BlockOutChannels = json.Longs("block_out_channels", d.BlockOutChannels),
            LayersPerBlock = json.Int("layers_per_block", d.LayersPerBlock),
            ActFn = json.String("act_fn", d.ActFn),
            LatentChannels = json.Long("latent_channels", d.LatentChannels),
            NormNumGroups = json.Long("norm_num_groups", d.NormNumGroups),
            SampleSize = json.Long("sample_size", d.SampleSize),
            ScalingFactor = json.Double("scaling_factor", d.ScalingFactor),
            MidBlockAddAttention = json.Bool("mid_block_add_attention", d.MidBlockAddAttention),
            UseQuantConv = json.Bool("use_quant_conv", d.UseQuantConv),
            UsePostQuantConv = json.Bool("use_post_quant_conv", d.UsePostQuantConv),
        };
        var n = config.BlockOutChannels.Length;
        json.Require(n > 0, "block_out_channels", "must not be empty");
        json.Require(config.DownBlockTypes.Length == n, "down_block_types", $"must have one entry per block_out_channels entry ({n})");
        json.Require(config.UpBlockTypes.Length == n, "up_block_types", $"must have one entry per block_out_channels entry ({n})");
        json.Require(config.DownBlockTypes.All(t => t == "DownEncoderBlock2D"), "down_block_types", "supports only DownEncoderBlock2D");
        json.Require(config.UpBlockTypes.All(t => t == "UpDecoderBlock2D"), "up_block_types", "supports only UpDecoderBlock2D");
        json.Require(config.BlockOutChannels.All(c => c > 0 && c % config.NormNumGroups == 0), "norm_num_groups",
            $"({config.NormNumGroups}) must divide every block_out_channels entry");
        json.Require(config.LayersPerBlock > 0, "layers_per_block", "must be positive");
        json.Require(config.ScalingFactor > 0, "scaling_factor", "must be positive");
        return config;
    }
}
