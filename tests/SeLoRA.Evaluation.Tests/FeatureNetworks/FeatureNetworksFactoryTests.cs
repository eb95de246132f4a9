using SeLoRA.Evaluation.FeatureNetworks;
using Networks = SeLoRA.Evaluation.FeatureNetworks.FeatureNetworks;

namespace SeLoRA.Evaluation.Tests.FeatureNetworks;

public sealed class FeatureNetworksFactoryTests
{
    [Theory]
    [InlineData("resnet18")]
    [InlineData(" ResNet18 ")]
    public void Resnet18_builds_the_onnx_network_named_FD_ResNet18(string spec)
    {
        using var network = Networks.Create(spec, intraOpThreads: 1);
        Assert.IsType<ResNet18FeatureNetwork>(network);
        Assert.Equal("FD-ResNet18", Networks.MetricName(network));
        Assert.Equal("bilinear 224", Networks.ResizeSummary(network));
    }

    [Fact]
    public void Only_pytorch_fid_inception_is_called_FID()
    {
        using var inception = new FidInceptionV3();
        Assert.Equal("FID", Networks.MetricName(inception));
        Assert.Equal("bilinear 299", Networks.ResizeSummary(inception));
    }

    [Theory]
    [InlineData("inception")]
    [InlineData("resnet50")]
    [InlineData("")]
    [InlineData("clip:foo")]
    public void Unknown_specs_are_errors_that_name_them_and_list_the_accepted_forms(string spec)
    {
        var e = Assert.Throws<ArgumentException>(() => Networks.Create(spec));
        Assert.Contains($"'{spec}'", e.Message);
        Assert.Contains("resnet18", e.Message);
        Assert.Contains("inception:<weights file>", e.Message);
    }

    [Fact]
    public void Inception_needs_a_weights_file_and_names_a_missing_one()
    {
        Assert.Contains("weights file", Assert.Throws<ArgumentException>(() => Networks.Create("inception:")).Message);
        var missing = Path.Combine(Path.GetTempPath(), "no-such-inception.safetensors");
        var e = Assert.ThrowsAny<Exception>(() => Networks.Create("inception:" + missing));
        Assert.Contains("no-such-inception.safetensors", e.Message);
    }
}
