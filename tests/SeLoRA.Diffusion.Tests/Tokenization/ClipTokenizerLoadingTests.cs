using SeLoRA.Diffusion.Tokenization;

namespace SeLoRA.Diffusion.Tests.Tokenization;

public sealed class ClipTokenizerLoadingTests : IDisposable
{
    readonly string temp = Directory.CreateTempSubdirectory("clip-tokenizer-").FullName;

    public void Dispose() => Directory.Delete(temp, recursive: true);

    [Fact]
    public void Sd15_settings_come_from_the_folder()
    {
        var tokenizer = Sd15Tokenizer.Get();
        Assert.Equal(49406, tokenizer.BosId);
        Assert.Equal(49407, tokenizer.EosId);
        Assert.Equal(49407, tokenizer.PadId);
        Assert.Equal(77, tokenizer.MaxLength);
        Assert.Equal(49408, tokenizer.VocabSize);
        Assert.Equal("<|startoftext|>", tokenizer.IdToToken(49406));
    }

    [Fact]
    public void Missing_vocab_json_is_named()
    {
        File.WriteAllText(Path.Combine(temp, "merges.txt"), "#version: 0.2\n");
        var error = Assert.Throws<FileNotFoundException>(() => ClipTokenizer.FromFolder(temp));
        Assert.Contains("vocab.json", error.Message);
        Assert.Equal(Path.Combine(temp, "vocab.json"), error.FileName);
    }

    [Fact]
    public void Missing_folder_is_named()
    {
        var missing = Path.Combine(temp, "nope");
        var error = Assert.Throws<DirectoryNotFoundException>(() => ClipTokenizer.FromFolder(missing));
        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void Malformed_vocab_json_is_named()
    {
        File.WriteAllText(Path.Combine(temp, "vocab.json"), "{\"a\": \"x\"}");
        File.WriteAllText(Path.Combine(temp, "merges.txt"), "#version: 0.2\n");
        var error = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFolder(temp));
        Assert.Contains("vocab.json", error.Message);
        Assert.Contains("\"a\"", error.Message);
    }

    [Fact]
    public void Malformed_merges_line_is_named()
    {
        CopyReference("vocab.json");
        File.WriteAllText(Path.Combine(temp, "merges.txt"), "#version: 0.2\ni n\nt h e\n");
        var error = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFolder(temp));
        Assert.Contains("merges.txt line 3", error.Message);
    }

    [Fact]
    public void Config_files_override_the_defaults_and_are_optional()
    {
        CopyReference("vocab.json");
        CopyReference("merges.txt");
        var withoutConfigs = ClipTokenizer.FromFolder(temp);
        Assert.Equal((49406, 49407, 49407, 77), (withoutConfigs.BosId, withoutConfigs.EosId, withoutConfigs.PadId, withoutConfigs.MaxLength));

        // SD2-style: pads with "!" (id 0); an AddedToken object and a plain string are both accepted.
        File.WriteAllText(Path.Combine(temp, "tokenizer_config.json"),
            "{\"model_max_length\": 64, \"pad_token\": {\"content\": \"<|endoftext|>\"}}");
        File.WriteAllText(Path.Combine(temp, "special_tokens_map.json"), "{\"pad_token\": \"!\"}");
        var custom = ClipTokenizer.FromFolder(temp);
        Assert.Equal(0, custom.PadId);
        Assert.Equal(64, custom.MaxLength);
        Assert.Equal(0, custom.EncodeBatch(["a cat"]).InputIds[0, 63]);
    }

    [Fact]
    public void Unknown_special_token_is_named()
    {
        CopyReference("vocab.json");
        CopyReference("merges.txt");
        File.WriteAllText(Path.Combine(temp, "special_tokens_map.json"), "{\"bos_token\": \"<s>\"}");
        var error = Assert.Throws<InvalidDataException>(() => ClipTokenizer.FromFolder(temp));
        Assert.Contains("<s>", error.Message);
    }

    void CopyReference(string name) => File.Copy(Path.Combine(Sd15Tokenizer.Folder, name), Path.Combine(temp, name));
}
