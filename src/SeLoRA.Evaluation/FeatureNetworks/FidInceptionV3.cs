using SeLoRA.Torch;
using SeLoRA.Torch.Safetensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Evaluation.FeatureNetworks;

/// <summary>
/// The InceptionV3 that pytorch-fid scores FID with (<c>fid_inception_v3()</c>: torchvision's Inception3 with
/// num_classes=1008, aux_logits=False and the FIDInceptionA/C/E_1/E_2 blocks), returning the 2048-d final average pool.
/// Field names are torchvision's, so <c>state_dict()</c> keys equal those of pt_inception-2015-12-05
/// (<c>Conv2d_1a_3x3.conv.weight</c>, <c>Mixed_5b.branch1x1.bn.running_mean</c>, ..., <c>fc.weight</c>).
/// </summary>
/// <remarks>
/// <c>fc</c> (2048 to 1008) is kept although features never use it: the checkpoint holds it, and keeping it lets a
/// strict load account for every tensor in the user's file.
/// </remarks>
public sealed class FidInceptionV3 : nn.Module<Tensor, Tensor>, IFeatureNetwork
{
    /// <summary>Side of the square input pytorch-fid resizes to.</summary>
    public const int InputSize = 299;

    /// <summary>Classes of the TensorFlow 2015-12-05 graph's logits layer, which the checkpoint's fc holds.</summary>
    public const int CheckpointClasses = 1008;

    /// <summary>Length of the pool features.</summary>
    public const int FeatureDimension = 2048;

#pragma warning disable IDE1006 // torchvision attribute names, so state_dict() keys match the checkpoint.
    readonly BasicConv2d Conv2d_1a_3x3;
    readonly BasicConv2d Conv2d_2a_3x3;
    readonly BasicConv2d Conv2d_2b_3x3;
    readonly BasicConv2d Conv2d_3b_1x1;
    readonly BasicConv2d Conv2d_4a_3x3;
    readonly FidInceptionA Mixed_5b;
    readonly FidInceptionA Mixed_5c;
    readonly FidInceptionA Mixed_5d;
    readonly InceptionB Mixed_6a;
    readonly FidInceptionC Mixed_6b;
    readonly FidInceptionC Mixed_6c;
    readonly FidInceptionC Mixed_6d;
    readonly FidInceptionC Mixed_6e;
    readonly InceptionD Mixed_7a;
    readonly FidInceptionE Mixed_7b;
    readonly FidInceptionE Mixed_7c;
    readonly nn.Module<Tensor, Tensor> fc;
#pragma warning restore IDE1006

    /// <summary>Builds the network with TorchSharp's default (random) initialisation, float32 on the CPU.</summary>
    /// <param name="numClasses">Rows of <c>fc</c>; 1008 matches pt_inception-2015-12-05.</param>
    public FidInceptionV3(int numClasses = CheckpointClasses) : base(nameof(FidInceptionV3))
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "at least one class");
        TorchRuntime.EnsureLoaded();
        Conv2d_1a_3x3 = new BasicConv2d(3, 32, 3, stride: 2);
        Conv2d_2a_3x3 = new BasicConv2d(32, 32, 3);
        Conv2d_2b_3x3 = new BasicConv2d(32, 64, 3, padding: 1);
        Conv2d_3b_1x1 = new BasicConv2d(64, 80, 1);
        Conv2d_4a_3x3 = new BasicConv2d(80, 192, 3);
        Mixed_5b = new FidInceptionA(192, poolFeatures: 32);
        Mixed_5c = new FidInceptionA(256, poolFeatures: 64);
        Mixed_5d = new FidInceptionA(288, poolFeatures: 64);
        Mixed_6a = new InceptionB(288);
        Mixed_6b = new FidInceptionC(768, channels7x7: 128);
        Mixed_6c = new FidInceptionC(768, channels7x7: 160);
        Mixed_6d = new FidInceptionC(768, channels7x7: 160);
        Mixed_6e = new FidInceptionC(768, channels7x7: 192);
        Mixed_7a = new InceptionD(768);
        Mixed_7b = new FidInceptionE(1280, maxPool: false);
        Mixed_7c = new FidInceptionE(2048, maxPool: true);
        fc = nn.Linear(FeatureDimension, numClasses);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public string Name => "InceptionV3 (pytorch-fid FID variant)";

    /// <inheritdoc/>
    public int Dimension => FeatureDimension;

    /// <inheritdoc/>
    public string Preprocessing => FidInceptionInput.Description;

    /// <summary>
    /// Builds the network and loads pt_inception-2015-12-05 (or any file with the same keys) strictly: every tensor
    /// of the model must be in the file with the same shape, and the file may hold nothing else. BatchNorm's
    /// <c>num_batches_tracked</c> may be absent (PyTorch accepts checkpoints without it; eval mode never reads it).
    /// </summary>
    /// <param name="weightsPath">A safetensors file, or a torch.save zip archive (.pth, PyTorch 1.6 and later); older pickles are refused with the conversion to run.</param>
    /// <exception cref="WeightFileException">The file is missing, not safetensors, or its keys or shapes do not match.</exception>
    public static FidInceptionV3 Load(string weightsPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(weightsPath);
        var tensors = InceptionWeightFile.Read(weightsPath);
        var model = new FidInceptionV3();
        try
        {
            model.LoadWeights(tensors, weightsPath);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>Copies <paramref name="tensors"/> into the model with the strict rules of <see cref="Load"/>; the caller keeps ownership.</summary>
    /// <param name="source">Where the tensors came from, for error messages.</param>
    public void LoadWeights(IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        InceptionWeightFile.CopyStrict(this, tensors, source);
    }

    /// <summary>Saves the state dict as safetensors (the keys pytorch-fid's checkpoint uses).</summary>
    public void SaveSafetensors(string path)
    {
        var state = state_dict();
        SafetensorsFile.Save(path, state);
    }

    /// <summary>The network itself: input already resized and scaled to [-1, 1], <c>[n, 3, H, W]</c>; output <c>[n, 2048]</c>.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = Conv2d_1a_3x3.forward(x);
        x = Conv2d_2a_3x3.forward(x);
        x = Conv2d_2b_3x3.forward(x);
        x = InceptionPooling.MaxPool3x3Stride2(x);
        x = Conv2d_3b_1x1.forward(x);
        x = Conv2d_4a_3x3.forward(x);
        x = InceptionPooling.MaxPool3x3Stride2(x);
        x = Mixed_5b.forward(x);
        x = Mixed_5c.forward(x);
        x = Mixed_5d.forward(x);
        x = Mixed_6a.forward(x);
        x = Mixed_6b.forward(x);
        x = Mixed_6c.forward(x);
        x = Mixed_6d.forward(x);
        x = Mixed_6e.forward(x);
        x = Mixed_7a.forward(x);
        x = Mixed_7b.forward(x);
        x = Mixed_7c.forward(x);
        x = nn.functional.adaptive_avg_pool2d(x, new long[] { 1, 1 });
        return scope.MoveToOuter(x.flatten(1));
    }

    /// <inheritdoc/>
    public Tensor Features(Tensor images01)
    {
        ArgumentNullException.ThrowIfNull(images01);
        if (images01.dim() != 4 || images01.shape[1] != 3)
            throw new ArgumentException($"expected RGB images [n, 3, H, W] in [0, 1], got {SafetensorsFile.FormatShape(images01.shape)}", nameof(images01));

        var wasTraining = training;
        eval();
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var weight = parameters().First();
            var x = images01.to(weight.dtype, weight.device);
            x = FidInceptionInput.Prepare(x);
            var features = forward(x).to(ScalarType.Float32, CPU);
            return scope.MoveToOuter(features);
        }
        finally
        {
            if (wasTraining) train();
        }
    }
}
