namespace SeLoRA.Adapters.Persistence;

/// <summary>How adapter tensor keys are prefixed in a file.</summary>
public enum AdapterKeyConvention
{
    /// <summary>
    /// PEFT's save_pretrained: one model per file, keys <c>base_model.model.&lt;module&gt;.lora_A.weight</c>, with an
    /// adapter_config.json beside the weights. The default.
    /// </summary>
    Peft,

    /// <summary>
    /// diffusers' pipeline LoRA file (pytorch_lora_weights.safetensors): every component in one file, keys prefixed by the
    /// component name (<c>unet.&lt;module&gt;.lora_A.weight</c>, <c>text_encoder.&lt;module&gt;...</c>), and the LoRA
    /// config per component in the "lora_adapter_metadata" metadata entry.
    /// </summary>
    Diffusers,
}
