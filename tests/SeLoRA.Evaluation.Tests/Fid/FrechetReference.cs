using MathNet.Numerics.LinearAlgebra;

namespace SeLoRA.Evaluation.Tests.Fid;

/// <summary>Independent float64 computations with MathNet.Numerics, used as the reference in tests.</summary>
static class FrechetReference
{
    public static Matrix<double> ToMatrix(double[] rowMajor, int d) => Matrix<double>.Build.Dense(d, d, (i, j) => rowMajor[i * d + j]);

    public static double[] ToRowMajor(Matrix<double> m)
    {
        var d = m.RowCount;
        var result = new double[d * m.ColumnCount];
        for (var i = 0; i < d; i++)
            for (var j = 0; j < m.ColumnCount; j++)
                result[i * m.ColumnCount + j] = m[i, j];
        return result;
    }

    /// <summary>Tr(sqrtm(S1 S2)) via MathNet's symmetric EVD: sqrt(S1), then the eigenvalues of sqrt(S1) S2 sqrt(S1).</summary>
    public static double TraceSqrtSymmetric(Matrix<double> s1, Matrix<double> s2)
    {
        var evd = s1.Evd(Symmetricity.Symmetric);
        var sqrtW = Matrix<double>.Build.DenseOfDiagonalVector(evd.EigenValues.Map(c => Math.Sqrt(Math.Max(c.Real, 0))));
        var sqrt1 = evd.EigenVectors * sqrtW * evd.EigenVectors.Transpose();
        var m = sqrt1 * s2 * sqrt1;
        m = (m + m.Transpose()) * 0.5;
        var evdM = m.Evd(Symmetricity.Symmetric);
        return evdM.EigenValues.Sum(c => Math.Sqrt(Math.Max(c.Real, 0)));
    }

    /// <summary>Tr(sqrtm(S1 S2)) from the general (non-symmetric) EVD of the product itself, as scipy's sqrtm sees it.</summary>
    public static double TraceSqrtGeneral(Matrix<double> s1, Matrix<double> s2)
    {
        var evd = (s1 * s2).Evd(Symmetricity.Asymmetric);
        return evd.EigenValues.Sum(c => System.Numerics.Complex.Sqrt(c).Real);
    }

    public static double Distance(double[] mu1, Matrix<double> s1, double[] mu2, Matrix<double> s2, bool general = false)
    {
        var meanTerm = mu1.Zip(mu2, (a, b) => (a - b) * (a - b)).Sum();
        var tr = general ? TraceSqrtGeneral(s1, s2) : TraceSqrtSymmetric(s1, s2);
        return meanTerm + s1.Trace() + s2.Trace() - 2 * tr;
    }

    /// <summary>A random well-conditioned SPD matrix A A^T / d + 0.1 I.</summary>
    public static Matrix<double> RandomSpd(Random rng, int d)
    {
        var a = Matrix<double>.Build.Dense(d, d, (_, _) => rng.NextDouble() * 2 - 1);
        return a * a.Transpose() / d + Matrix<double>.Build.DenseIdentity(d) * 0.1;
    }

    public static double[] RandomVector(Random rng, int d, double scale = 1) =>
        Enumerable.Range(0, d).Select(_ => (rng.NextDouble() * 2 - 1) * scale).ToArray();

    /// <summary>Gaussian-ish float features: n rows of d, with a mean offset and correlated columns.</summary>
    public static float[][] RandomFeatures(Random rng, int n, int d, double offset = 0)
    {
        var mix = Enumerable.Range(0, d).Select(_ => RandomVector(rng, d)).ToArray();
        var rows = new float[n][];
        for (var r = 0; r < n; r++)
        {
            var z = RandomVector(rng, d);
            rows[r] = new float[d];
            for (var j = 0; j < d; j++)
            {
                double v = offset + z[j];
                for (var k = 0; k < d; k++) v += 0.3 * mix[j][k] * z[k];
                rows[r][j] = (float)v;
            }
        }
        return rows;
    }
}
