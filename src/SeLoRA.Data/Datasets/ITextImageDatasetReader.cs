namespace SeLoRA.Data.Datasets;

/// <summary>A dataset layout that <see cref="DatasetFactory"/> can open by the kind named in a spec string.</summary>
public interface ITextImageDatasetReader
{
    /// <summary>The spec prefix, e.g. "iu-xray".</summary>
    string Kind { get; }

    /// <summary>One line for error messages and help: the layout expected under the folder.</summary>
    string Layout { get; }

    TextImageDataset Read(string folder, DatasetOptions options, string spec);
}
