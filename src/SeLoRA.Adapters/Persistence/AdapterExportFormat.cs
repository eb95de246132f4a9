namespace SeLoRA.Adapters.Persistence;

/// <summary>The ecosystems <see cref="AdapterExport.Export"/> writes for.</summary>
public enum AdapterExportFormat
{
    /// <summary>PEFT's save_pretrained layout: &lt;out&gt;/&lt;component&gt;/adapter_model.safetensors + adapter_config.json.</summary>
    Peft,

    /// <summary>diffusers' load_lora_weights file: &lt;out&gt;/pytorch_lora_weights.safetensors (unet.*, text_encoder.* keys).</summary>
    Diffusers,

    /// <summary>kohya-ss sd-scripts' LoRA file (lora_unet_* / lora_te_* keys with lora_down, lora_up, alpha), as A1111 and ComfyUI load.</summary>
    Kohya,
}
