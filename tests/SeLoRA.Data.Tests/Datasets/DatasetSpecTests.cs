using SeLoRA.Data.Datasets;

namespace SeLoRA.Data.Tests.Datasets;

public sealed class DatasetSpecTests
{
    [Theory]
    [InlineData("iu-xray:/data/iu", "iu-xray", "/data/iu")]
    [InlineData("iu-xray-r2gen:/data/iu", "iu-xray-r2gen", "/data/iu")]
    [InlineData(" MONTGOMERY:/data/mcu ", "montgomery", "/data/mcu")]
    [InlineData("folder:relative/mine", "folder", "relative/mine")]
    public void ParsesKindAndFolder(string text, string kind, string folder)
    {
        var spec = DatasetSpec.Parse(text);
        Assert.Equal(kind, spec.Kind);
        Assert.Equal(folder, spec.Folder);
        Assert.Empty(spec.Options);
        Assert.Equal($"{kind}:{folder}", spec.ToString());
    }

    [Fact]
    public void OptionsApplyAndRoundTrip()
    {
        var spec = DatasetSpec.Parse("iu-xray:/data/iu?prompt=Both&failfast=true&check=decode");
        var options = spec.ApplyTo(DatasetOptions.Default);
        Assert.Equal(PromptSource.Both, options.Prompt);
        Assert.True(options.FailFast);
        Assert.Equal(ImageCheck.Decode, options.Check);
        Assert.Equal("iu-xray:/data/iu?check=decode&failfast=true&prompt=both", spec.ToString());
        Assert.Equal(spec.ToString(), DatasetSpec.Parse(spec.ToString()).ToString());
    }

    [Theory]
    [InlineData("/data/iu", "expected 'kind:folder'")]
    [InlineData("xray:/data/iu", "unknown kind 'xray'")]
    [InlineData("iu-xray:", "no folder")]
    [InlineData("iu-xray:/d?prompt=summary", "prompt must be one of findings, impression, both")]
    [InlineData("iu-xray:/d?colour=red", "unknown option 'colour'")]
    [InlineData("iu-xray:/d?failfast=maybe", "failfast must be true or false")]
    public void BadSpecsSayWhy(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => DatasetSpec.Parse(text));
        Assert.Contains(expected, e.Message);
        Assert.Contains(text, e.Message);
    }
}
