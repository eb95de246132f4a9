using SeLoRA.Torch.Randomness;
namespace SeLoRA.Data.Datasets.SynthCxr;

/// <summary>
/// Paints a <see cref="ChestCase"/> into a row-major float image in [0, 1] (bright = dense). Plain arrays, one thread per
/// image, so the pixels depend only on the case and the noise stream.
/// </summary>
internal static class ChestRenderer
{
    private const double Background = 0.03;

    public static float[] Render(ChestCase c, SplitMix64 noise)
    {
        var n = c.Size;
        double s = n;
        var img = new double[n * n];
        var lungMask = new double[n * n];       // 1 where aerated lung tissue shows markings
        var markings = new double[n * n];
        var bones = new double[n * n];

        PaintBase(c, img, lungMask);
        PaintVessels(c, noise, markings);
        PaintRibs(c, bones);
        PaintClavicles(c, bones);

        for (var i = 0; i < n * n; i++)
            img[i] += markings[i] * lungMask[i] + bones[i];

        PaintPneumothoraxLine(c, img);
        PaintEffusion(c, img);
        PaintLesion(c, img);
        PaintDevice(c, img);
        AddSmoothNoise(noise, img, n, 0.03);

        var blurred = GaussianBlur(img, n, Math.Max(0.45, 0.55 * s / 128));
        var contrast = noise.Uniform(0.97, 1.03);
        var offset = noise.Uniform(-0.01, 0.01);
        var result = new float[n * n];
        for (var i = 0; i < n * n; i++)
        {
            var v = blurred[i] * contrast + offset + 0.012 * noise.NextGaussian();
            result[i] = (float)Math.Clamp(v, 0, 1);
        }
        return result;
    }

    private static double BodyHalfWidth(ChestCase c, double y)
    {
        double s = c.Size;
        var neck = 0.10 * s;
        var shoulder = 0.49 * s;
        var chest = c.HalfThorax + c.Wall;
        if (y < 0.05 * s) return neck;
        if (y < 0.15 * s) return neck + (shoulder - neck) * Smooth((y - 0.05 * s) / (0.10 * s));
        if (y < 0.35 * s) return shoulder + (chest - shoulder) * Smooth((y - 0.15 * s) / (0.20 * s));
        return chest + 0.02 * s * Smooth((y - 0.75 * s) / (0.25 * s));
    }

    private static double Smooth(double t)
    {
        t = Math.Clamp(t, 0, 1);
        return t * t * (3 - 2 * t);
    }

    private static void PaintBase(ChestCase c, double[] img, double[] lungMask)
    {
        var n = c.Size;
        double s = n, cx = c.CenterX;
        for (var i = 0; i < n; i++)
        {
            var y = i + 0.5;
            var bodyHalf = BodyHalfWidth(c, y);
            for (var j = 0; j < n; j++)
            {
                var x = j + 0.5;
                var dx = x - cx;
                var k = i * n + j;
                if (Math.Abs(dx) > bodyHalf) { img[k] = Background; continue; }
                var r = dx / bodyHalf;
                // Soft tissue: thinner (darker) toward the skin edge, a little denser lower down.
                var v = 0.58 * (0.86 + 0.14 * Math.Sqrt(Math.Max(0, 1 - r * r))) + 0.04 * y / s;
                var sign = dx < 0 ? -1 : 1;
                var d = Math.Abs(dx);
                var diaphragm = c.DiaphragmY(sign, d);
                if (y > diaphragm && d < c.HalfThorax + c.Wall) v += 0.08 + 0.06 * (1 - Smooth((d - c.HalfThorax * 0.6) / (0.4 * c.HalfThorax)));
                // Spine shadow down the middle.
                if (d < 0.03 * s) v += 0.04;
                var inMediastinum = d < c.MediastinumHalfAt(sign, y) && y > c.ApexY - 0.06 * s && y <= diaphragm + 0.01 * s;
                if (inMediastinum || (c.InHeart(x, y) && y <= diaphragm + 0.02 * s))
                {
                    v = 0.74 + (c.InHeart(x, y) ? 0.02 : 0);
                    if (d < 0.03 * s) v += 0.02;
                    // Tracheal air column down to the carina.
                    if (Math.Abs(dx - 0.004 * s) < 0.022 * s && y < c.CarinaY) v -= 0.18;
                }
                else if (Math.Abs(dx - 0.004 * s) < 0.022 * s && y < c.ApexY - 0.06 * s) v -= 0.15;
                if (c.InLung(sign, x, y))
                {
                    var t = (y - c.ApexY) / (c.DomeY(sign) - c.ApexY);
                    v = 0.13 + 0.05 * t + 0.02 * (1 - d / c.HalfThorax);
                    var hx = c.HilumX(sign);
                    var hr2 = ((x - hx) * (x - hx) + (y - c.HilumY) * (y - c.HilumY)) / (0.035 * s * 0.035 * s);
                    v += 0.10 * Math.Exp(-hr2 / 2);
                    lungMask[k] = 1;
                    if (c.InPneumothoraxSpace(sign, x, y)) { v = 0.04; lungMask[k] = 0; }
                    else if (c.PneumothoraxSide != null && ChestCase.SideSign(c.PneumothoraxSide) == sign) v += 0.03 * c.PneumothoraxCollapse / 0.38;
                }
                // Humeral heads at the upper corners.
                var hh = (d - 0.45 * s) * (d - 0.45 * s) + (y - 0.15 * s) * (y - 0.15 * s);
                if (hh < 0.055 * s * 0.055 * s) v += 0.10;
                // Gastric air bubble under the left hemidiaphragm.
                var gx = (x - (cx + 0.16 * s)) / (0.055 * s);
                var gy = (y - (c.LeftDomeY + 0.045 * s)) / (0.028 * s);
                if (gx * gx + gy * gy < 1 && y > c.DiaphragmY(1, d) + 0.01 * s) v -= 0.22;
                img[k] = v;
            }
        }
    }

    private static void PaintVessels(ChestCase c, SplitMix64 rng, double[] markings)
    {
        double s = c.Size;
        foreach (var sign in new[] { -1, 1 })
        {
            var branches = 18;
            for (var b = 0; b < branches; b++)
            {
                // Fan from the hilum: up-lateral through lateral to down-lateral.
                var angle = (-1.25 + 2.3 * (b + rng.NextDouble()) / branches);
                var dirX = sign * Math.Cos(angle);
                var dirY = Math.Sin(angle);
                Branch(c, rng, markings, c.HilumX(sign), c.HilumY, dirX, dirY, 0.13, 1.1 * s / 128 + 0.4, 0.05 * s, 5);
            }
        }
    }

    private static void Branch(ChestCase c, SplitMix64 rng, double[] markings, double x, double y, double dx, double dy,
                               double amp, double width, double step, int depth)
    {
        for (var seg = 0; seg < depth; seg++)
        {
            var turn = 0.35 * rng.NextGaussian();
            var ndx = dx * Math.Cos(turn) - dy * Math.Sin(turn);
            var ndy = dx * Math.Sin(turn) + dy * Math.Cos(turn);
            dx = ndx; dy = ndy;
            var len = step * rng.Uniform(0.7, 1.2);
            var x2 = x + dx * len;
            var y2 = y + dy * len;
            Segment(markings, c.Size, x, y, x2, y2, width, amp);
            if (depth - seg > 2 && rng.Chance(0.35))
            {
                var side = rng.Chance(0.5) ? 0.6 : -0.6;
                Branch(c, rng, markings, x2, y2, dx * Math.Cos(side) - dy * Math.Sin(side), dx * Math.Sin(side) + dy * Math.Cos(side),
                       amp * 0.7, width * 0.8, step * 0.8, depth - seg - 2);
            }
            x = x2; y = y2;
            amp *= 0.78;
            width = Math.Max(0.35, width * 0.85);
        }
    }

    /// <summary>Adds a Gaussian-profile line (max over overlaps, so crossings do not pile up).</summary>
    private static void Segment(double[] buffer, int n, double x1, double y1, double x2, double y2, double width, double amp, bool additive = false)
    {
        var pad = 3 * width + 1;
        var i0 = Math.Max(0, (int)Math.Floor(Math.Min(y1, y2) - pad));
        var i1 = Math.Min(n - 1, (int)Math.Ceiling(Math.Max(y1, y2) + pad));
        var j0 = Math.Max(0, (int)Math.Floor(Math.Min(x1, x2) - pad));
        var j1 = Math.Min(n - 1, (int)Math.Ceiling(Math.Max(x1, x2) + pad));
        double vx = x2 - x1, vy = y2 - y1;
        var len2 = Math.Max(1e-9, vx * vx + vy * vy);
        for (var i = i0; i <= i1; i++)
        for (var j = j0; j <= j1; j++)
        {
            double px = j + 0.5 - x1, py = i + 0.5 - y1;
            var t = Math.Clamp((px * vx + py * vy) / len2, 0, 1);
            double ex = px - t * vx, ey = py - t * vy;
            var d2 = ex * ex + ey * ey;
            var v = amp * Math.Exp(-d2 / (2 * width * width));
            var k = i * n + j;
            if (additive) buffer[k] += v;
            else if (v > buffer[k]) buffer[k] = v;
        }
    }

    private static void PaintRibs(ChestCase c, double[] bones)
    {
        var n = c.Size;
        double s = n;
        var spacing = (c.RightDomeY - c.ApexY) / 10.2;
        var half = 0.011 * s;
        for (var i = 0; i < n; i++)
        {
            var y = i + 0.5;
            for (var j = 0; j < n; j++)
            {
                var x = j + 0.5;
                var d = Math.Abs(x - c.CenterX);
                if (d < 0.025 * s || d > c.HalfThorax + 0.4 * c.Wall) continue;
                var t = d / c.HalfThorax;
                var value = 0.0;
                // Posterior ribs: arch up from the spine, curve down at the lateral wall.
                var posteriorOffset = -0.06 * s * t + 0.22 * s * t * t;
                // Ribs fade out into the lateral chest wall.
                var fade = 1 - Smooth((d - c.HalfThorax) / (0.4 * c.Wall));
                for (var r = 0; r < 10; r++)
                {
                    var ry = c.ApexY - 0.05 * s + r * spacing + posteriorOffset;
                    var e = Math.Abs(y - ry) / half;
                    if (e < 2.5) value = Math.Max(value, fade * (0.05 * Math.Exp(-Math.Pow(e, 6)) + 0.025 * Math.Exp(-(e - 1) * (e - 1) * 8)));
                }
                // Anterior ribs: fainter, slope down toward the midline, fade before the costal cartilage.
                if (t > 0.35)
                {
                    var anteriorOffset = 0.20 * s * (1 - t);
                    for (var r = 0; r < 6; r++)
                    {
                        var ry = c.ApexY + 0.03 * s + r * spacing * 1.25 + anteriorOffset;
                        var e = Math.Abs(y - ry) / (half * 1.2);
                        if (e < 2.5) value = Math.Max(value, 0.035 * Math.Exp(-Math.Pow(e, 4)) * Smooth((t - 0.35) / 0.2));
                    }
                }
                bones[i * n + j] += value;
            }
        }
    }

    private static void PaintClavicles(ChestCase c, double[] bones)
    {
        double s = c.Size;
        foreach (var sign in new[] { -1, 1 })
        {
            var y0 = c.ApexY + 0.03 * s;
            Segment(bones, c.Size, c.CenterX + sign * 0.04 * s, y0, c.CenterX + sign * 0.2 * s, y0 - 0.02 * s, 0.011 * s, 0.14, additive: true);
            Segment(bones, c.Size, c.CenterX + sign * 0.2 * s, y0 - 0.02 * s, c.CenterX + sign * 0.36 * s, y0 - 0.05 * s, 0.01 * s, 0.14, additive: true);
        }
    }

    private static void PaintPneumothoraxLine(ChestCase c, double[] img)
    {
        if (c.PneumothoraxSide == null) return;
        var sign = ChestCase.SideSign(c.PneumothoraxSide);
        var n = c.Size;
        var hx = c.HilumX(sign);
        for (var i = 0; i < n; i++)
        {
            var y = i + 0.5;
            if (y >= c.HilumY) break;
            for (var j = 0; j < n; j++)
            {
                var x = j + 0.5;
                if (!c.InLung(sign, x, y) || !c.InCollapsedLung(sign, x, y)) continue;
                var dist = Math.Sqrt((x - hx) * (x - hx) + (y - c.HilumY) * (y - c.HilumY));
                // A shell about one pixel thick just inside the collapsed lung's edge: the visceral pleural line.
                if (!c.InCollapsedLung(sign, x, y, -1.1 / Math.Max(dist, 1))) img[i * n + j] += 0.30;
            }
        }
    }

    private static void PaintEffusion(ChestCase c, double[] img)
    {
        if (c.EffusionSide == null) return;
        var n = c.Size;
        for (var i = 0; i < n; i++)
        {
            var y = i + 0.5;
            for (var j = 0; j < n; j++)
            {
                var x = j + 0.5;
                var sign = x < c.CenterX ? -1 : 1;
                if (!c.InEffusion(sign, x, y)) continue;
                var d = Math.Abs(x - c.CenterX);
                // Fluid thickens downward: density ramps over the first few pixels below the meniscus.
                var depth = (y - c.EffusionTopY(d)) / (0.03 * c.Size);
                var alpha = 0.75 + 0.25 * Smooth(depth);
                var k = i * n + j;
                img[k] = img[k] * (1 - alpha) + 0.66 * alpha;
            }
        }
    }

    private static void PaintLesion(ChestCase c, double[] img)
    {
        if (c.LesionType == null) return;
        var n = c.Size;
        var r0 = c.LesionDiameterPx / 2;
        var lobulation = c.LesionType == "mass" ? 1.0 : 0.3;
        var i0 = Math.Max(0, (int)(c.LesionY - r0 * 1.3 - 2));
        var i1 = Math.Min(n - 1, (int)(c.LesionY + r0 * 1.3 + 2));
        var j0 = Math.Max(0, (int)(c.LesionX - r0 * 1.3 - 2));
        var j1 = Math.Min(n - 1, (int)(c.LesionX + r0 * 1.3 + 2));
        for (var i = i0; i <= i1; i++)
        for (var j = j0; j <= j1; j++)
        {
            double dx = j + 0.5 - c.LesionX, dy = i + 0.5 - c.LesionY;
            var a = Math.Atan2(dy, dx);
            var r = r0 * (1 + lobulation * (0.08 * Math.Sin(3 * a + c.LesionPhase1) + 0.05 * Math.Sin(5 * a + c.LesionPhase2)));
            var dist = Math.Sqrt(dx * dx + dy * dy);
            var edge = Math.Clamp(r - dist + 0.5, 0, 1);
            if (edge <= 0) continue;
            // Denser centrally, like a sphere seen in projection.
            var thickness = Math.Sqrt(Math.Max(0, 1 - (dist / r) * (dist / r)));
            img[i * n + j] += edge * (0.22 + 0.12 * thickness);
        }
    }

    private static void PaintDevice(ChestCase c, double[] img)
    {
        if (c.DeviceType == null) return;
        var n = c.Size;
        var width = Math.Max(0.45, 0.5 * n / 128.0);
        var line = new double[n * n];
        var p = c.DevicePath;
        var points = p.Length / 2;
        const int sub = 8;
        // Catmull-Rom through the control points.
        for (var seg = 0; seg < points - 1; seg++)
        {
            int a = Math.Max(0, seg - 1), b = seg, d = seg + 1, e = Math.Min(points - 1, seg + 2);
            double px = p[2 * b], py = p[2 * b + 1];
            for (var k = 1; k <= sub; k++)
            {
                var t = k / (double)sub;
                var x = CatmullRom(p[2 * a], p[2 * b], p[2 * d], p[2 * e], t);
                var y = CatmullRom(p[2 * a + 1], p[2 * b + 1], p[2 * d + 1], p[2 * e + 1], t);
                if (c.DeviceType == "endotracheal_tube")
                {
                    // Two radiopaque walls of the tube.
                    var off = 0.012 * n;
                    Segment(line, n, px - off, py, x - off, y, width, 0.26);
                    Segment(line, n, px + off, py, x + off, y, width, 0.26);
                }
                else Segment(line, n, px, py, x, y, width, 0.30);
                px = x; py = y;
            }
        }
        for (var i = 0; i < n * n; i++) img[i] += line[i];
    }

    private static double CatmullRom(double p0, double p1, double p2, double p3, double t)
        => 0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t + (-p0 + 3 * p1 - 3 * p2 + p3) * t * t * t);

    private static void AddSmoothNoise(SplitMix64 rng, double[] img, int n, double amplitude)
    {
        // Value noise on a coarse 9 x 9 grid, bilinear with smoothstep: slow density variation of soft tissue.
        const int g = 9;
        var grid = new double[g * g];
        for (var i = 0; i < grid.Length; i++) grid[i] = rng.Uniform(-1, 1);
        for (var i = 0; i < n; i++)
        {
            var gy = (i + 0.5) / n * (g - 1);
            var y0 = Math.Min(g - 2, (int)gy);
            var ty = Smooth(gy - y0);
            for (var j = 0; j < n; j++)
            {
                var gx = (j + 0.5) / n * (g - 1);
                var x0 = Math.Min(g - 2, (int)gx);
                var tx = Smooth(gx - x0);
                var top = grid[y0 * g + x0] * (1 - tx) + grid[y0 * g + x0 + 1] * tx;
                var bottom = grid[(y0 + 1) * g + x0] * (1 - tx) + grid[(y0 + 1) * g + x0 + 1] * tx;
                var k = i * n + j;
                if (img[k] > Background + 0.01) img[k] += amplitude * (top * (1 - ty) + bottom * ty);
            }
        }
    }

    private static double[] GaussianBlur(double[] img, int n, double sigma)
    {
        var radius = (int)Math.Ceiling(3 * sigma);
        var kernel = new double[2 * radius + 1];
        var sum = 0.0;
        for (var k = -radius; k <= radius; k++) sum += kernel[k + radius] = Math.Exp(-k * k / (2 * sigma * sigma));
        for (var k = 0; k < kernel.Length; k++) kernel[k] /= sum;
        var tmp = new double[n * n];
        var output = new double[n * n];
        for (var i = 0; i < n; i++)
        for (var j = 0; j < n; j++)
        {
            var acc = 0.0;
            for (var k = -radius; k <= radius; k++) acc += kernel[k + radius] * img[i * n + Math.Clamp(j + k, 0, n - 1)];
            tmp[i * n + j] = acc;
        }
        for (var i = 0; i < n; i++)
        for (var j = 0; j < n; j++)
        {
            var acc = 0.0;
            for (var k = -radius; k <= radius; k++) acc += kernel[k + radius] * tmp[Math.Clamp(i + k, 0, n - 1) * n + j];
            output[i * n + j] = acc;
        }
        return output;
    }
}
