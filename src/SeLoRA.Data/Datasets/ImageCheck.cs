namespace SeLoRA.Data.Datasets;

/// <summary>How much of each image a reader verifies when it opens a dataset.</summary>
public enum ImageCheck
{
    /// <summary>Existence only; decoding problems surface later, in the loader.</summary>
    Exists,

    /// <summary>Existence and a readable image header (format, width, height) without decoding pixels. Default.</summary>
    Header,

    /// <summary>Full decode of every image (slow on large sets).</summary>
    Decode,
}
