using SeLoRA.Torch;
using SeLoRA.Torch.Nn;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Loading;

/// <summary>Linear + Conv2d + LayerNorm + a persistent int64 buffer + a non-persistent float buffer.</summary>
public sealed class TinyNet : nn.Module<Tensor, Tensor>
{
    public nn.Module<Tensor, Tensor> lin;
    public nn.Module<Tensor, Tensor> conv;
    public LayerNorm norm;
    public Tensor step_ids;

    public TinyNet(long seed) : base(nameof(TinyNet))
    {
        TorchRuntime.EnsureLoaded();
        torch.manual_seed(seed);
        lin = nn.Linear(4, 3);
        conv = nn.Conv2d(2, 3, 3, padding: 1);
        norm = NormLayers.LayerNorm(3);
        using (torch.no_grad())
        {
            norm.weight!.copy_(torch.randn(3) * 0.2 + 1);
            norm.bias!.copy_(torch.randn(3) * 0.2);
        }
        step_ids = torch.arange(5L) * (seed + 1);
        RegisterComponents();
        register_buffer("scratch", torch.zeros(2), persistent: false);
    }

    public override Tensor forward(Tensor x) => norm.call(lin.call(x));
}

/// <summary>The shape of a diffusers VAE mid-block attention: mid_block.attentions.0.{group_norm,to_q,to_k,to_v,to_out.0}.</summary>
public sealed class VaeMidLike : nn.Module<Tensor, Tensor>
{
    public MidBlock mid_block;

    public VaeMidLike(long channels) : base(nameof(VaeMidLike))
    {
        TorchRuntime.EnsureLoaded();
        mid_block = new MidBlock(channels);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x;

    public sealed class MidBlock : nn.Module<Tensor, Tensor>
    {
        public ModuleList<AttentionLike> attentions;

        public MidBlock(long channels) : base(nameof(MidBlock))
        {
            attentions = new ModuleList<AttentionLike>(new AttentionLike(channels));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => x;
    }

    public sealed class AttentionLike : nn.Module<Tensor, Tensor>
    {
        public GroupNorm group_norm;
        public nn.Module<Tensor, Tensor> to_q;
        public nn.Module<Tensor, Tensor> to_k;
        public nn.Module<Tensor, Tensor> to_v;
        public ModuleList<nn.Module<Tensor, Tensor>> to_out;

        public AttentionLike(long channels) : base(nameof(AttentionLike))
        {
            group_norm = NormLayers.GroupNorm(2, channels, 1e-6);
            to_q = nn.Linear(channels, channels);
            to_k = nn.Linear(channels, channels);
            to_v = nn.Linear(channels, channels);
            to_out = new ModuleList<nn.Module<Tensor, Tensor>>(nn.Linear(channels, channels), nn.Dropout(0.0));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => x;
    }
}

/// <summary>A temporary folder removed on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "selora-loading-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

static class TensorAssert
{
    public static void Equal(Tensor expected, Tensor actual, string? key = null)
    {
        Assert.True(expected.dtype == actual.dtype, $"{key}: dtype {expected.dtype} vs {actual.dtype}");
        Assert.True(expected.shape.SequenceEqual(actual.shape), $"{key}: shape [{string.Join(",", expected.shape)}] vs [{string.Join(",", actual.shape)}]");
        using var same = expected.cpu().eq(actual.cpu()).all();
        Assert.True(same.item<bool>(), $"{key}: values differ");
    }

    public static void Dispose(IEnumerable<Tensor> tensors)
    {
        foreach (var t in tensors) t.Dispose();
    }
}
