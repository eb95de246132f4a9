using SeLoRA.Torch.Safetensors;
using SeLoRA.Diffusion.Loading;
using SeLoRA.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Loading;

public sealed class DiffusersFolderTests
{
    [Fact]
    public void Sd15_model_index_parses()
    {
        var sd15 = RepoPaths.RequireShared("sd15");
        var folder = DiffusersFolder.Open(sd15);
        Assert.Equal("StableDiffusionPipeline", folder.PipelineClassName);
        Assert.Equal("0.6.0", folder.DiffusersVersion);
        Assert.Equal(new[] { "feature_extractor", "safety_checker", "scheduler", "text_encoder", "tokenizer", "unet", "vae" },
            folder.Components.Keys);
        Assert.Equal(new ModelIndexEntry("diffusers", "UNet2DConditionModel"), folder.Components["unet"]);
        Assert.Equal(new ModelIndexEntry("transformers", "CLIPTextModel"), folder.Components["text_encoder"]);
        Assert.Equal(new ModelIndexEntry("diffusers", "AutoencoderKL"), folder.Components["vae"]);
        Assert.Equal(new ModelIndexEntry("diffusers", "PNDMScheduler"), folder.Components["scheduler"]);
        Assert.Equal(new ModelIndexEntry("transformers", "CLIPTokenizer"), folder.Components["tokenizer"]);

        // The reference folder has only the tokenizer; the others fail naming the folder they expected.
        Assert.True(folder.HasComponent("tokenizer"));
        Assert.False(folder.HasComponent("unet"));
        var e = Assert.Throws<WeightFileException>(() => folder.ComponentFolder("unet"));
        Assert.Contains(Path.Combine(sd15, "unet"), e.Message);
        e = Assert.Throws<WeightFileException>(() => folder.ComponentFolder("controlnet"));
        Assert.Contains("controlnet", e.Message);
    }

    [Fact]
    public void Save_writes_a_pipeline_folder_the_loader_reads_back()
    {
        var sd15 = RepoPaths.RequireShared("sd15");
        using var temp = new TempFolder();
        using var unet = new TinyNet(1);
        using var text = new TinyNet(2);
        const string unetConfig = "{\n  \"_class_name\": \"TinyNet\",\n  \"block_out_channels\": [3]\n}\n";
        const string textConfig = "{\"architectures\": [\"CLIPTextModel\"], \"hidden_size\": 3}";
        var folder = DiffusersFolder.Save(temp.Path, "StableDiffusionPipeline",
        [
            new PipelineComponent("unet", "diffusers", "UNet2DConditionModel") { ConfigJson = unetConfig, Module = unet },
            new PipelineComponent("text_encoder", "transformers", "CLIPTextModel") { ConfigJson = textConfig, Module = text },
            new PipelineComponent("scheduler", "diffusers", "PNDMScheduler") { ConfigJson = File.ReadAllText(Path.Combine(sd15, "scheduler_config.json")) },
            new PipelineComponent("tokenizer", "transformers", "CLIPTokenizer") { CopyFilesFrom = Path.Combine(sd15, "tokenizer") },
        ]);

        var reopened = DiffusersFolder.Open(temp.Path);
        Assert.Equal("StableDiffusionPipeline", reopened.PipelineClassName);
        Assert.Equal(new ModelIndexEntry("transformers", "CLIPTextModel"), reopened.Components["text_encoder"]);
        Assert.Equal(4, reopened.Components.Count);

        var config = reopened.ReadConfig("unet");
        Assert.Equal(Path.Combine(temp.Path, "unet", "config.json"), config.Path);
        Assert.Equal("TinyNet", config.ClassName);
        Assert.Equal(unetConfig, File.ReadAllText(config.Path));
        Assert.Equal("CLIPTextModel", reopened.ReadConfig("text_encoder").ClassName);
        Assert.Equal("PNDMScheduler", reopened.ReadConfig("scheduler").ClassName);
        Assert.EndsWith("scheduler_config.json", reopened.ReadConfig("scheduler").Path);
        Assert.True(File.Exists(Path.Combine(reopened.TokenizerFolder, "vocab.json")));
        Assert.Equal(Path.Combine(temp.Path, "scheduler"), reopened.SchedulerFolder);

        Assert.EndsWith(Path.Combine("unet", "diffusion_pytorch_model.safetensors"), reopened.FindWeights("unet").Path);
        Assert.EndsWith(Path.Combine("text_encoder", "model.safetensors"), reopened.FindWeights("text_encoder").Path);

        using var unet2 = new TinyNet(7);
        using var text2 = new TinyNet(8);
        Assert.True(folder.LoadInto("unet", unet2).IsExact);
        Assert.True(DiffusersFolder.LoadComponent(temp.Path, "text_encoder", text2).IsExact);
        var u = unet.state_dict();
        foreach (var (k, v) in unet2.state_dict()) TensorAssert.Equal(u[k], v, k);
        var t = text.state_dict();
        foreach (var (k, v) in text2.state_dict()) TensorAssert.Equal(t[k], v, k);
    }

    [Fact]
    public void Save_component_sharded_loads_back()
    {
        using var temp = new TempFolder();
        using var net = new TinyNet(1);
        var index = DiffusersFolder.SaveComponent(temp.Path, "unet", "{\"_class_name\": \"TinyNet\"}", net, new SaveOptions { MaxShardBytes = 100 });
        Assert.EndsWith("diffusion_pytorch_model.safetensors.index.json", index);
        Assert.True(ShardedSafetensors.ReadWeightMap(index).Values.Distinct().Count() > 1);
        var dict = DiffusersFolder.LoadComponentStateDict(temp.Path, "unet");
        var expected = net.state_dict();
        Assert.Equal(expected.Keys.Order(), dict.Keys.Order());
        foreach (var (k, v) in dict) TensorAssert.Equal(expected[k], v, k);
        TensorAssert.Dispose(dict.Values);
    }
}
