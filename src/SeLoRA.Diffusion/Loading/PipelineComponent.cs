using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Loading;

/// <summary>
/// One component for <see cref="DiffusersFolder.Save"/>: its model_index.json line, and what to write in its folder.
/// A model has <see cref="ConfigJson"/> and <see cref="Module"/>; a scheduler has only a config (scheduler_config.json);
/// a tokenizer usually copies its files from another folder.
/// </summary>
public sealed record PipelineComponent(string Name, string Library, string ClassName)
{
    /// <summary>The config text, written as-is.</summary>
    public string? ConfigJson { get; init; }

    /// <summary>The config's file name; null: scheduler_config.json for "scheduler", config.json otherwise.</summary>
    public string? ConfigFileName { get; init; }

    /// <summary>The module whose state_dict() is saved as the component's weights.</summary>
    public nn.Module? Module { get; init; }

    /// <summary>A folder whose files are copied into the component folder (e.g. tokenizer vocab.json and merges.txt).</summary>
    public string? CopyFilesFrom { get; init; }

    public SaveOptions? SaveOptions { get; init; }
}
