using SeLoRA.Diffusion.Tokenization;
using SeLoRA.TestSupport;

namespace SeLoRA.Diffusion.Tests.Tokenization;

/// <summary>The SD1.5 tokenizer from the shared reference data, loaded once for all tests (skips when absent).</summary>
internal static class Sd15Tokenizer
{
    static readonly Lazy<ClipTokenizer> Shared = new(() => ClipTokenizer.FromFolder(Folder));

    public static string Folder => RepoPaths.RequireShared("sd15/tokenizer");

    public static ClipTokenizer Get()
    {
        _ = Folder;
        return Shared.Value;
    }
}
