namespace SeLoRA.Adapters.Lora;

/// <summary>How LoRA's A matrix starts (B always starts at zero, so the adapted layer starts equal to the base).</summary>
public enum LoraInit
{
    /// <summary>PEFT's default: kaiming_uniform_(A, a = sqrt(5)), bound 1/sqrt(in).</summary>
    KaimingUniform,

    /// <summary>PEFT's "gaussian": A ~ N(0, (1/r)^2).</summary>
    Gaussian,
}
