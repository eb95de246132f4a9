namespace SeLoRA.Diffusion.Loading;

/// <summary>How loading chooses the dtype of floating tensors. Integer tensors (ids, position_ids) are never converted.</summary>
public enum FloatStorage
{
    /// <summary>Every floating tensor becomes <see cref="LoadOptions.FloatDType"/> (float32 unless changed): fp16/bf16 files are upcast.</summary>
    Convert,

    /// <summary>Floating tensors keep the dtype stored in the file (an fp16 file gives fp16 parameters).</summary>
    KeepStored,

    /// <summary>
    /// Frozen parameters (requires_grad false at load time) are stored as bfloat16 to halve their memory; trainable parameters
    /// and buffers become <see cref="LoadOptions.FloatDType"/>. Only leaf modules whose own parameters are all frozen are
    /// converted, because TorchSharp converts a module and its children together; the report lists what stayed.
    /// </summary>
    FrozenBFloat16,

    /// <summary>The module's tensors keep their dtypes and values are converted into them (PyTorch's load_state_dict);
    /// for a module the caller has already converted. Dictionaries keep the stored dtype.</summary>
    KeepModule,
}
