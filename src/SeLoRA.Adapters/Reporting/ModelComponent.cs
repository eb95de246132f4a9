namespace SeLoRA.Adapters.Reporting;

/// <summary>Which network of Stable Diffusion an adapted layer belongs to.</summary>
public enum ModelComponent
{
    TextEncoder,
    Unet,
}
