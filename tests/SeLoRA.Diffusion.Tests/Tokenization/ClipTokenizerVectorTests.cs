using System.Text.Json;
using SeLoRA.Diffusion.Tokenization;
using SeLoRA.TestSupport;

namespace SeLoRA.Diffusion.Tests.Tokenization;

public sealed class ClipTokenizerVectorTests
{
    [Fact]
    public void Reproduces_every_fixture_vector_ids_and_token_strings()
    {
        var tokenizer = Sd15Tokenizer.Get();
        var path = RepoPaths.RequireShared("fixtures/clip-tokenizer-vectors/tokenizer_vectors.json");
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var failures = new List<string>();
        int checkedCount = 0;
        foreach (var list in new[] { "published_third_party", "computed_with_openai_clip_simple_tokenizer" })
            foreach (var vector in document.RootElement.GetProperty(list).EnumerateArray())
            {
                var text = vector.GetProperty("text").GetString()!;
                var expected = vector.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                var actual = tokenizer.Encode(text);
                checkedCount++;
                if (!actual.SequenceEqual(expected))
                    failures.Add($"{list} {JsonSerializer.Serialize(text)}: expected [{string.Join(", ", expected)}], got [{string.Join(", ", actual)}]");
                if (vector.TryGetProperty("tokens", out var tokens))
                {
                    var expectedTokens = tokens.EnumerateArray().Select(e => e.GetString()!).ToArray();
                    var actualTokens = actual.Select(tokenizer.IdToToken).ToArray();
                    if (!actualTokens.SequenceEqual(expectedTokens))
                        failures.Add($"{list} {JsonSerializer.Serialize(text)}: tokens [{string.Join(" ", actualTokens)}]");
                }
            }
        Assert.True(checkedCount >= 16, $"only {checkedCount} vectors found in {path}");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public void A_photo_of_a_cat()
    {
        Assert.Equal([49406, 320, 1125, 539, 320, 2368, 49407], Sd15Tokenizer.Get().Encode("a photo of a cat"));
    }

    // Expected ids computed with openai/CLIP simple_tokenizer.py logic (ftfy as identity) on the SD1.5 vocab.
    [Theory]
    [InlineData("AT&amp;T &ampx &AMP; &#x80; &#65 &copy2", new[] { 49406, 536, 261, 339, 261, 343, 261, 6309, 320, 5811, 273, 49407 })]
    [InlineData("<|endoftext|> A dog", new[] { 49406, 49407, 320, 1929, 49407 })]
    [InlineData("''s it'S", new[] { 49406, 8445, 338, 585, 568, 49407 })]
    [InlineData("tab\u001csep\u00a0nbsp\u3000ideo", new[] { 49406, 14724, 472, 10434, 6459, 4393, 1909, 334, 49407 })]
    [InlineData("\U0001D400\U0001D401 \U00020000 9\ufe0f\u20e3 \U0001F44D\U0001F3FD", new[] { 49406, 15889, 222, 15889, 479, 172, 254, 222, 478, 280, 4603, 43722, 49407 })]
    [InlineData("\u216b \u00b2 \u00bd", new[] { 49406, 158, 227, 375, 41175, 33613, 49407 })]
    [InlineData("Stra\u00dfe \u0130", new[] { 49406, 1894, 127, 253, 324, 328, 16384, 49407 })]
    public void Edge_cases_match_the_python_reference(string text, int[] expected)
    {
        Assert.Equal(expected, Sd15Tokenizer.Get().Encode(text));
    }

    [Fact]
    public void Empty_and_blank_text_is_bos_eos()
    {
        var tokenizer = Sd15Tokenizer.Get();
        Assert.Equal([49406, 49407], tokenizer.Encode(""));
        Assert.Equal([49406, 49407], tokenizer.Encode(" \t\n "));
    }

    [Fact]
    public void Nfc_normalises_decomposed_accents_like_ftfy()
    {
        var tokenizer = Sd15Tokenizer.Get();
        Assert.Equal(tokenizer.Encode("caf\u00e9"), tokenizer.Encode("cafe\u0301"));
    }

    [Fact]
    public void Repeated_words_come_from_the_cache_unchanged()
    {
        var tokenizer = Sd15Tokenizer.Get();
        var first = tokenizer.Encode("supercalifragilisticexpialidocious astronaut");
        var second = tokenizer.Encode("supercalifragilisticexpialidocious astronaut");
        Assert.Equal(first, second);
    }

    [Fact]
    public void Concurrent_encoding_matches_serial_encoding()
    {
        var tokenizer = ClipTokenizer.FromFolder(Sd15Tokenizer.Folder);
        var prompts = Enumerable.Range(0, 400)
            .Select(i => $"prompt{i} of a {(char)('a' + i % 26)}{i * 7919 % 1000}xyzzy{i % 13} landscape, highly detailed")
            .ToArray();
        var parallel = new IReadOnlyList<int>[prompts.Length];
        Parallel.For(0, prompts.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => parallel[i] = tokenizer.Encode(prompts[i]));
        var serial = ClipTokenizer.FromFolder(Sd15Tokenizer.Folder);
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(serial.Encode(prompts[i]), parallel[i]);
    }
}
