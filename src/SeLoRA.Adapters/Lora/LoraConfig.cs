using SeLoRA.Adapters.Core;
using System.Text.Json;

namespace SeLoRA.Adapters.Lora;

/// <summary>Plain LoRA hyperparameters, with PEFT's defaults (r 8, alpha 8, no dropout, Kaiming A, zero B).</summary>
public sealed record LoraConfig
{
    public int Rank { get; init; } = 8;

    public double Alpha { get; init; } = 8;

    public double Dropout { get; init; }

    public LoraInit Init { get; init; } = LoraInit.KaimingUniform;

    /// <summary>rsLoRA: scaling alpha/sqrt(r) instead of alpha/r.</summary>
    public bool UseRsLora { get; init; }

    public double Scaling => UseRsLora ? Alpha / Math.Sqrt(Rank) : Alpha / Rank;

    public void Validate()
    {
        if (Rank < 1) throw new ArgumentOutOfRangeException(nameof(Rank), Rank, "LoRA rank must be at least 1");
        if (Dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "dropout must be in [0, 1)");
        if (!double.IsFinite(Alpha)) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "alpha must be finite");
    }

    /// <summary>Reads PEFT's adapter_config.json field names (r, lora_alpha, lora_dropout, use_rslora, init_lora_weights).</summary>
    public static LoraConfig FromJson(string path) => ConfigFields.ReadFile(path, FromJson);

    public static LoraConfig FromJson(JsonElement root)
    {
        var config = new LoraConfig();
        if (root.TryGetProperty("r", out var r)) config = config with { Rank = r.GetInt32() };
        if (root.TryGetProperty("lora_alpha", out var alpha)) config = config with { Alpha = alpha.GetDouble() };
        if (root.TryGetProperty("lora_dropout", out var dropout)) config = config with { Dropout = dropout.GetDouble() };
        if (root.TryGetProperty("use_rslora", out var rs)) config = config with { UseRsLora = rs.GetBoolean() };
        if (root.TryGetProperty("init_lora_weights", out var init))
        {
            config = init.ValueKind switch
            {
                JsonValueKind.True => config with { Init = LoraInit.KaimingUniform },
                JsonValueKind.String when init.GetString() == "gaussian" => config with { Init = LoraInit.Gaussian },
                _ => throw new FormatException($"init_lora_weights: unsupported value {init.GetRawText()} (supported: true, \"gaussian\")"),
            };
        }
        config.Validate();
        return config;
    }
}
