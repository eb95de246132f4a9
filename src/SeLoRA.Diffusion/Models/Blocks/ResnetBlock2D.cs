using SeLoRA.Torch.Nn;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Models.Blocks;

/// <summary>
/// diffusers <c>ResnetBlock2D</c>: norm1 -> act -> [up/down] -> conv1 -> (+ time_emb_proj(act(temb))) -> norm2
/// (-> scale/shift) -> act -> dropout -> conv2, then (shortcut(x) + h) / outputScaleFactor. A 1x1 conv_shortcut
/// appears when the channel count changes (or <c>useInShortcut</c>). <c>tembChannels</c> null (the VAE) means no time input.
/// </summary>
public sealed class ResnetBlock2D : nn.Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // field names are the PyTorch attribute names (state_dict keys)
    private readonly nn.Module<Tensor, Tensor> norm1;
    private readonly nn.Module<Tensor, Tensor> conv1;
    private readonly nn.Module<Tensor, Tensor>? time_emb_proj;
    private readonly nn.Module<Tensor, Tensor> norm2;
    private readonly nn.Module<Tensor, Tensor> dropout;
    private readonly nn.Module<Tensor, Tensor> conv2;
    private readonly nn.Module<Tensor, Tensor> nonlinearity;
    private readonly Upsample2D? upsample;
    private readonly Downsample2D? downsample;
    private readonly nn.Module<Tensor, Tensor>? conv_shortcut;
#pragma warning restore IDE1006

    public long InChannels { get; }
    public long OutChannels { get; }
    public string TimeEmbeddingNorm { get; }
    public bool SkipTimeAct { get; }
    public double OutputScaleFactor { get; }

    public ResnetBlock2D(long inChannels, long? outChannels = null, double dropout = 0.0, long? tembChannels = 512,
        long groups = 32, long? groupsOut = null, double eps = 1e-6, string nonLinearity = "swish",
        bool skipTimeAct = false, string timeEmbeddingNorm = "default", double outputScaleFactor = 1.0,
        bool? useInShortcut = null, bool up = false, bool down = false, bool convShortcutBias = true,
        long? conv2dOutChannels = null, Device? device = null)
        : base(nameof(ResnetBlock2D))
    {
        if (timeEmbeddingNorm is not ("default" or "scale_shift"))
            throw new NotSupportedException($"ResnetBlock2D time_embedding_norm '{timeEmbeddingNorm}' is not supported (default, scale_shift).");
        InChannels = inChannels;
        OutChannels = outChannels ?? inChannels;
        TimeEmbeddingNorm = timeEmbeddingNorm;
        SkipTimeAct = skipTimeAct;
        OutputScaleFactor = outputScaleFactor;
        var finalChannels = conv2dOutChannels ?? OutChannels;

        norm1 = NormLayers.GroupNorm(groups, inChannels, eps, affine: true, device: device);
        conv1 = nn.Conv2d(inChannels, OutChannels, kernel_size: 3, stride: 1, padding: 1, device: device);
        if (tembChannels is { } temb)
            time_emb_proj = nn.Linear(temb, timeEmbeddingNorm == "scale_shift" ? 2 * OutChannels : OutChannels, device: device);
        norm2 = NormLayers.GroupNorm(groupsOut ?? groups, OutChannels, eps, affine: true, device: device);
        this.dropout = nn.Dropout(dropout);
        conv2 = nn.Conv2d(OutChannels, finalChannels, kernel_size: 3, stride: 1, padding: 1, device: device);
        nonlinearity = Activations.Get(nonLinearity);
        if (up) upsample = new Upsample2D(inChannels, useConv: false, device: device);
        else if (down) downsample = new Downsample2D(inChannels, useConv: false, padding: 1, device: device);
        if (useInShortcut ?? inChannels != finalChannels)
            conv_shortcut = nn.Conv2d(inChannels, finalChannels, kernel_size: 1, stride: 1, padding: 0L, bias: convShortcutBias, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputTensor, Tensor? temb)
    {
        using var scope = NewDisposeScope();
        var shortcut = inputTensor;
        var h = norm1.forward(inputTensor);
        h = nonlinearity.forward(h);
        if (upsample is not null)
        {
            shortcut = upsample.forward(shortcut);
            h = upsample.forward(h);
        }
        else if (downsample is not null)
        {
            shortcut = downsample.forward(shortcut);
            h = downsample.forward(h);
        }
        h = conv1.forward(h);

        Tensor? t = null;
        if (time_emb_proj is not null)
        {
            if (temb is null)
                throw new ArgumentNullException(nameof(temb), "this ResnetBlock2D has time_emb_proj, so it needs a time embedding.");
            t = SkipTimeAct ? temb : nonlinearity.forward(temb);
            t = time_emb_proj.forward(t).unsqueeze(-1).unsqueeze(-1);
            if (TimeEmbeddingNorm == "default") h = h + t;
        }

        h = norm2.forward(h);
        if (t is not null && TimeEmbeddingNorm == "scale_shift")
        {
            var parts = t.chunk(2, 1);
            h = h * (parts[0] + 1) + parts[1];
        }
        h = nonlinearity.forward(h);
        h = dropout.forward(h);
        h = conv2.forward(h);

        if (conv_shortcut is not null) shortcut = conv_shortcut.forward(shortcut);
        var output = shortcut + h;
        if (OutputScaleFactor != 1.0) output = output / OutputScaleFactor;
        return scope.MoveToOuter(output);
    }
}
