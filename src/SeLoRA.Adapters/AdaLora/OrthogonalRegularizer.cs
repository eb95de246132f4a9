using static TorchSharp.torch;

namespace SeLoRA.Adapters.AdaLora;

/// <summary>
/// AdaLoRA's orthogonality penalty as PEFT's AdaLoraModel.forward computes it: over every A and every B of every module,
/// <c>R = (1 / number of matrices) * sum(||A A^T - I||_F + ||B^T B - I||_F)</c> (Frobenius norms, not squared), which is
/// <c>0.5 * mean over modules of (||A A^T - I||_F + ||B^T B - I||_F)</c>; the loss gets <c>orth_reg_weight * R</c>.
/// A rank-0 module counts as two matrices with norm 0, as in PEFT.
/// </summary>
public static class OrthogonalRegularizer
{
    /// <summary>R (unweighted), a differentiable scalar; 0 for no modules.</summary>
    public static Tensor Compute(IEnumerable<AdaLoraLinear> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        using var scope = NewDisposeScope();
        Tensor? total = null;
        var count = 0;
        foreach (var layer in layers)
        {
            total = Add(total, Deviation(layer.A.matmul(layer.A.t())));
            total = Add(total, Deviation(layer.B.t().matmul(layer.B)));
            count += 2;
        }
        var result = total is null ? zeros(Array.Empty<long>()) : total.div(count);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>orth_reg_weight * R, the term PEFT adds to the loss.</summary>
    public static Tensor Loss(IEnumerable<AdaLoraLinear> layers, double orthRegWeight)
    {
        using var scope = NewDisposeScope();
        return Compute(layers).mul(orthRegWeight).MoveToOuterDisposeScope();
    }

    static Tensor Add(Tensor? total, Tensor term) => total is null ? term : total + term;

    // ||C - I||_F; norm() rather than sqrt(sum of squares) so the gradient at C = I is 0, not NaN.
    static Tensor Deviation(Tensor covariance)
    {
        using var identity = eye(covariance.shape[0], dtype: covariance.dtype, device: covariance.device);
        return (covariance - identity).norm();
    }
}
