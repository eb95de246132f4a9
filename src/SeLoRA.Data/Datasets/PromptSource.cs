namespace SeLoRA.Data.Datasets;

/// <summary>Which IU X-Ray report section becomes the prompt.</summary>
public enum PromptSource
{
    /// <summary>The findings section (the paper's choice).</summary>
    Findings,

    /// <summary>The impression section.</summary>
    Impression,

    /// <summary>Findings then impression, separated by a space; either alone when the other is empty.</summary>
    Both,
}
