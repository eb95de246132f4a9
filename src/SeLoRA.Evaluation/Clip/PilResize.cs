namespace SeLoRA.Evaluation.Clip;

/// <summary>
/// Pillow's <c>Image.resize</c> for 8-bit images (libImaging/Resample.c, no reducing_gap): a separable convolution whose
/// filter support widens by the downscale factor (so downscaling is antialiased), weights normalised per output pixel
/// and then fixed to 22-bit integers, a horizontal pass rounded and clipped to 8 bits, then a vertical pass likewise.
/// transformers' slow image processors resize through PIL this way, so this reproduces their pixels exactly.
/// </summary>
public static class PilResize
{
    const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Resizes an interleaved [height, width, channels] byte image; the same size returns a copy.</summary>
    public static byte[] Resize(byte[] pixels, int height, int width, int channels, int newHeight, int newWidth,
        PilResampleFilter filter = PilResampleFilter.Bicubic)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (height <= 0 || width <= 0 || channels <= 0 || newHeight <= 0 || newWidth <= 0)
            throw new ArgumentException($"sizes must be positive: {height}x{width}x{channels} -> {newHeight}x{newWidth}");
        if (pixels.Length != (long)height * width * channels)
            throw new ArgumentException($"expected {(long)height * width * channels} bytes for {height}x{width}x{channels}, got {pixels.Length}", nameof(pixels));

        var image = pixels;
        if (newWidth != width)
        {
            var (bounds, weights, taps) = Coefficients(width, newWidth, filter);
            var output = new byte[height * newWidth * channels];
            for (var y = 0; y < height; y++)
            {
                var rowIn = y * width * channels;
                var rowOut = y * newWidth * channels;
                for (var xx = 0; xx < newWidth; xx++)
                {
                    var (min, count) = bounds[xx];
                    var w = xx * taps;
                    for (var c = 0; c < channels; c++)
                    {
                        var sum = 1 << (PrecisionBits - 1);
                        var at = rowIn + min * channels + c;
                        for (var k = 0; k < count; k++, at += channels)
                            sum += image[at] * weights[w + k];
                        output[rowOut + xx * channels + c] = Clip8(sum);
                    }
                }
            }
            image = output;
            width = newWidth;
        }
        if (newHeight != height)
        {
            var (bounds, weights, taps) = Coefficients(height, newHeight, filter);
            var stride = width * channels;
            var output = new byte[newHeight * stride];
            var sums = new int[stride];
            for (var yy = 0; yy < newHeight; yy++)
            {
                var (min, count) = bounds[yy];
                Array.Fill(sums, 1 << (PrecisionBits - 1));
                // Row by row, so the inner loop runs over contiguous bytes; the sums are the same integers.
                for (var k = 0; k < count; k++)
                {
                    var weight = weights[yy * taps + k];
                    var row = (min + k) * stride;
                    for (var i = 0; i < stride; i++) sums[i] += image[row + i] * weight;
                }
                for (var i = 0; i < stride; i++) output[yy * stride + i] = Clip8(sums[i]);
            }
            image = output;
        }
        return ReferenceEquals(image, pixels) ? (byte[])pixels.Clone() : image;
    }

    static ((int Min, int Count)[] Bounds, int[] Weights, int Taps) Coefficients(int inSize, int outSize, PilResampleFilter filter)
    {
        var (kernel, baseSupport) = Filter(filter);
        double scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = baseSupport * filterScale;
        var inverseScale = 1.0 / filterScale;
        var taps = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new (int, int)[outSize];
        var weights = new int[outSize * taps];
        for (var xx = 0; xx < outSize; xx++)
        {
            var center = (xx + 0.5) * scale;
            // C casts truncate toward zero, as (int) does here.
            var min = Math.Max((int)(center - support + 0.5), 0);
            var max = Math.Min((int)(center + support + 0.5), inSize) - min;
            var k = new double[taps];
            double total = 0;
            for (var x = 0; x < max; x++)
            {
                k[x] = kernel((x + min - center + 0.5) * inverseScale);
                total += k[x];
            }
            for (var x = 0; x < max; x++)
                if (total != 0.0) k[x] /= total;
            for (var x = 0; x < taps; x++)
                weights[xx * taps + x] = k[x] < 0
                    ? (int)(-0.5 + k[x] * (1 << PrecisionBits))
                    : (int)(0.5 + k[x] * (1 << PrecisionBits));
            bounds[xx] = (min, max);
        }
        return (bounds, weights, taps);
    }

    // PIL clips the accumulated value after dropping the fraction bits.
    static byte Clip8(int value) => (byte)Math.Clamp(value >> PrecisionBits, 0, 255);

    static (Func<double, double> Kernel, double Support) Filter(PilResampleFilter filter) => filter switch
    {
        PilResampleFilter.Box => (x => x > -0.5 && x <= 0.5 ? 1.0 : 0.0, 0.5),
        PilResampleFilter.Bilinear => (x => Math.Abs(x) < 1.0 ? 1.0 - Math.Abs(x) : 0.0, 1.0),
        PilResampleFilter.Hamming => (Hamming, 1.0),
        PilResampleFilter.Bicubic => (Bicubic, 2.0),
        PilResampleFilter.Lanczos => (x => -3.0 <= x && x < 3.0 ? Sinc(x) * Sinc(x / 3) : 0.0, 3.0),
        _ => throw new ArgumentOutOfRangeException(nameof(filter), filter, "unknown PIL resampling filter"),
    };

    /// <summary>Keys' cubic convolution with a = -0.5, PIL's BICUBIC.</summary>
    static double Bicubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    static double Hamming(double x)
    {
        x = Math.Abs(x);
        if (x == 0.0) return 1.0;
        if (x >= 1.0) return 0.0;
        x *= Math.PI;
        // PIL writes these constants as C floats.
        return Math.Sin(x) / x * (0.54f + 0.46f * Math.Cos(x));
    }

    static double Sinc(double x)
    {
        if (x == 0.0) return 1.0;
        x *= Math.PI;
        return Math.Sin(x) / x;
    }
}
