using SeLoRA.Adapters.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Lora;

/// <summary>
/// LoRA on a frozen linear layer (loralib layout): A [r, in], B [out, r], <c>y = W0 x + b0 + s * B (A dropout(x))</c>.
/// State-dict keys: <c>weight</c>, <c>bias</c> (the base), <c>lora_A.weight</c>, <c>lora_B.weight</c>.
/// </summary>
public class LoraLinear : AdaptedLinear
{
    // Field names are PEFT's module names.
    readonly AdapterWeight lora_A;
    readonly AdapterWeight lora_B;
    readonly nn.Module<Tensor, Tensor> lora_dropout;

    /// <summary>Plain LoRA with the given config; A is drawn from <paramref name="generator"/> (global RNG when null).</summary>
    public LoraLinear(string name, int layerIndex, Linear baseLayer, LoraConfig config, Generator? generator = null)
        : this(name, layerIndex, baseLayer, config.Rank, config.Scaling, config.Dropout,
               a => InitA(a, config, generator), nameof(LoraLinear))
    {
        config.Validate();
        RegisterComponents();
    }

    /// <summary>For derived adapters: rank, scaling and dropout given; <paramref name="initA"/> fills A in place.</summary>
    protected LoraLinear(string name, int layerIndex, Linear baseLayer, int rank, double scaling, double dropout,
                         Action<Tensor> initA, string moduleName)
        : base(name, layerIndex, baseLayer, moduleName)
    {
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank of adapter '{name}' must be at least 1");
        var dtype = BaseWeight.dtype;
        var device = BaseWeight.device;
        // Parameters take over their tensors' handles, so they are built outside any dispose scope.
        var a = zeros(new long[] { rank, InFeatures }, dtype: ScalarType.Float32);
        initA(a);
        lora_A = new AdapterWeight(new Parameter(a.to(dtype, device, disposeAfter: true), requires_grad: true));
        lora_B = new AdapterWeight(new Parameter(zeros(new long[] { OutFeatures, rank }, dtype: dtype, device: device), requires_grad: true));
        lora_dropout = dropout > 0 ? nn.Dropout(dropout) : nn.Identity();
        Scaling = scaling;
    }

    public override int Rank => (int)lora_A.Weight.shape[0];

    /// <summary>s in <c>s * B A</c>.</summary>
    public double Scaling { get; protected set; }

    /// <summary>A [r, in].</summary>
    public Parameter A => lora_A.Weight;

    /// <summary>B [out, r].</summary>
    public Parameter B => lora_B.Weight;

    public override IEnumerable<Parameter> TrainableParameters()
    {
        yield return A;
        yield return B;
    }

    public override Tensor DeltaWeight()
    {
        using (no_grad())
            return B.matmul(A).mul_(Scaling);
    }

    protected override Tensor Delta(Tensor input) => lora_B.call(lora_A.call(lora_dropout.call(input))).mul(Scaling);

    /// <summary>The dropout applied to the adapter's input (identity when dropout is 0).</summary>
    protected Tensor DropoutInput(Tensor input) => lora_dropout.call(input);

    /// <summary>Swaps A and B for enlarged ones (rank growth). The caller owns the old parameters.</summary>
    protected void ReplaceMatrices(Parameter newA, Parameter newB)
    {
        if (newA.shape[0] != newB.shape[1] || newA.shape[1] != InFeatures || newB.shape[0] != OutFeatures)
            throw new ArgumentException($"Adapter '{Name}': A {Shape(newA)} and B {Shape(newB)} do not fit a [{OutFeatures} x {InFeatures}] layer.");
        lora_A.Replace(newA);
        lora_B.Replace(newB);
    }

    static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    static void InitA(Tensor a, LoraConfig config, Generator? generator)
    {
        switch (config.Init)
        {
            case LoraInit.KaimingUniform:
                Initializers.KaimingUniform_(a, Math.Sqrt(5), generator);
                break;
            case LoraInit.Gaussian:
                Initializers.Normal_(a, 0, 1.0 / config.Rank, generator);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(config), config.Init, "unknown LoRA init");
        }
    }
}
