using SeLoRA.Evaluation.FeatureNetworks;

namespace SeLoRA.Evaluation.Tests.FeatureNetworks;

public sealed class FeatureNetworkFactoryTests
{
    [Theory]
    [InlineData("resnet18")]
    [InlineData(" ResNet18 ")]
    public void Resnet18_builds_the_onnx_network_named_FD_ResNet18(string spec)
    {
        using var network = FeatureNetworkFactory.Create(spec, intraOpThreads: 1);
        Assert.IsType<ResNet18FeatureNetwork>(network);
        Assert.Equal("FD-ResNet18", FeatureNetworkFactory.MetricName(network));
        Assert.Equal("bilinear 224", FeatureNetworkFactory.ResizeSummary(network));
    }

    [Fact]
    public void Only_pytorch_fid_inception_is_called_FID()
    {
        using var inception = new FidInceptionV3();
        Assert.Equal("FID", FeatureNetworkFactory.MetricName(inception));
        Assert.Equal("bilinear 299", FeatureNetworkFactory.ResizeSummary(inception));
    }

    [Theory]
    [InlineData("inception")]
    [InlineData("resnet50")]
    [InlineData("")]
    [InlineData("clip:foo")]
    public void Unknown_specs_are_errors_that_name_them_and_list_the_accepted_forms(string spec)
    {
        var e = Assert.Throws<ArgumentException>(() => FeatureNetworkFactory.Create(spec));
        Assert.Contains($"'{spec}'", e.Message);
        Assert.Contains("resnet18", e.Message);
        Assert.Contains("inception:<weights file>", e.Message);
    }

    [Fact]
    public void Inception_needs_a_weights_file_and_names_a_missing_one()
    {
        Assert.Contains("weights file", Assert.Throws<ArgumentException>(() => FeatureNetworkFactory.Create("inception:")).Message);
        var missing = Path.Combine(Path.GetTempPath(), "no-such-inception.safetensors");
        var e = Assert.ThrowsAny<Exception>(() => FeatureNetworkFactory.Create("inception:" + missing));
        Assert.Contains("no-such-inception.safetensors", e.Message);
    }
}
