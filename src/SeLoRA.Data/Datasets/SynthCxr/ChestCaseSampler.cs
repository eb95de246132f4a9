using SeLoRA.Torch.Randomness;
namespace SeLoRA.Data.Datasets.SynthCxr;

/// <summary>Draws anatomy and findings for one image from its own random stream.</summary>
internal static class ChestCaseSampler
{
    private static readonly string[] Zones = ["upper", "middle", "lower"];

    public static ChestCase Sample(SplitMix64 rng, int size, SynthCxrOptions options)
    {
        double s = size;
        var c = new ChestCase
        {
            Size = size,
            PixelSpacingCm = options.FieldOfViewCm / size,
            CenterX = s / 2,
            HalfThorax = rng.Uniform(0.36, 0.40) * s,
            Wall = rng.Uniform(0.045, 0.065) * s,
            ApexY = rng.Uniform(0.11, 0.14) * s,
            MediastinumHalf = rng.Uniform(0.09, 0.11) * s,
            RightDomeY = rng.Uniform(0.69, 0.72) * s,
        };
        c.LeftDomeY = c.RightDomeY + rng.Uniform(0.01, 0.03) * s;
        c.RightCostophrenicY = c.RightDomeY + rng.Uniform(0.06, 0.09) * s;
        c.LeftCostophrenicY = c.LeftDomeY + rng.Uniform(0.06, 0.09) * s;
        c.HilumY = c.ApexY + 0.45 * (c.RightDomeY - c.ApexY);
        c.CarinaY = c.ApexY + rng.Uniform(0.17, 0.20) * s;
        c.HeartRow = (int)Math.Floor(c.RightDomeY - rng.Uniform(0.11, 0.14) * s);
        c.HeartUp = rng.Uniform(0.19, 0.23) * s;
        // The lower heart dips into the domes, so no lung shows between heart and diaphragm.
        c.HeartDown = c.RightDomeY - (c.HeartRow + 0.5) + 0.06 * s;

        // Cardiothoracic ratio: heart width over the internal thoracic width on the heart's widest row; a third of
        // the heart lies right of the midline.
        c.Cardiomegaly = rng.Chance(options.Cardiomegaly);
        c.Ctr = c.Cardiomegaly ? rng.Uniform(0.515, 0.66) : rng.Uniform(0.38, 0.485);
        var heartWidth = c.Ctr * 2 * c.HalfThorax;
        c.HeartHalfWidth = heartWidth / 2;
        c.HeartCenterX = c.CenterX + heartWidth / 6;

        if (rng.Chance(options.Effusion))
        {
            var side = rng.NextDouble();
            c.EffusionSide = side < 0.45 ? "right" : side < 0.85 ? "left" : "bilateral";
            var sz = rng.NextDouble();
            c.EffusionSize = sz < 0.45 ? "small" : sz < 0.80 ? "moderate" : "large";
            var dome = Math.Min(c.RightDomeY, c.LeftDomeY);
            // The fluid stays below the heart's widest row (+0.05 S) so the cardiothoracic ratio stays measurable.
            var floor = c.HeartRow + 0.05 * s;
            c.EffusionLateralTopY = c.EffusionSize switch
            {
                "small" => dome - rng.Uniform(0.01, 0.025) * s,
                "moderate" => dome - rng.Uniform(0.035, 0.05) * s,
                _ => dome - rng.Uniform(0.07, 0.09) * s,
            };
            c.EffusionLateralTopY = Math.Max(c.EffusionLateralTopY, floor);
            c.EffusionMeniscus = rng.Uniform(0.07, 0.11) * s;
        }

        if (rng.Chance(options.Pneumothorax))
        {
            c.PneumothoraxSide = rng.Chance(0.5) ? "right" : "left";
            c.PneumothoraxSize = rng.Chance(0.6) ? "small" : "large";
            c.PneumothoraxCollapse = c.PneumothoraxSize == "small" ? rng.Uniform(0.12, 0.20) : rng.Uniform(0.25, 0.38);
        }

        if (rng.Chance(options.Device)) SampleDevice(rng, c);

        if (rng.Chance(options.Lesion)) SampleLesion(rng, c, options);
        return c;
    }

    private static void SampleDevice(SplitMix64 rng, ChestCase c)
    {
        double s = c.Size, cx = c.CenterX;
        var kind = rng.NextDouble();
        if (kind < 0.4)
        {
            c.DeviceType = "central_venous_catheter";
            var tipY = c.CarinaY + rng.Uniform(0.0, 0.05) * s;
            c.DevicePath =
            [
                cx - rng.Uniform(0.07, 0.09) * s, 0,
                cx - 0.07 * s, 0.10 * s,
                cx - 0.055 * s, c.ApexY + 0.08 * s,
                cx - 0.045 * s, (c.ApexY + 0.08 * s + tipY) / 2,
                cx - 0.04 * s, tipY,
            ];
        }
        else if (kind < 0.7)
        {
            c.DeviceType = "endotracheal_tube";
            var tipY = c.CarinaY - rng.Uniform(0.04, 0.07) * s;
            c.DevicePath = [cx + 0.005 * s, 0, cx + 0.005 * s, tipY / 2, cx + 0.004 * s, tipY];
        }
        else
        {
            c.DeviceType = "nasogastric_tube";
            var belowDome = c.LeftDomeY + 0.05 * s;
            c.DevicePath =
            [
                cx + 0.01 * s, 0,
                cx + 0.008 * s, 0.3 * s,
                cx + 0.02 * s, c.HeartRow,
                cx + 0.04 * s, c.LeftDomeY,
                cx + 0.11 * s, belowDome + 0.03 * s,
                cx + rng.Uniform(0.15, 0.19) * s, belowDome + rng.Uniform(-0.01, 0.02) * s,
            ];
        }
    }

    private static void SampleLesion(SplitMix64 rng, ChestCase c, SynthCxrOptions options)
    {
        var mass = rng.Chance(options.MassFraction);
        c.LesionType = mass ? "mass" : "nodule";
        c.LesionSide = rng.Chance(0.5) ? "right" : "left";
        c.LesionZone = rng.Pick(Zones);
        c.LesionDiameterCm = mass ? rng.Uniform(3.0, 6.0) : rng.Uniform(0.8, 2.9);
        c.LesionPhase1 = rng.Uniform(0, 2 * Math.PI);
        c.LesionPhase2 = rng.Uniform(0, 2 * Math.PI);
        // Zone bands in fractions of apex-to-dome height; the lowest band stops above the dome. When fluid or a
        // pneumothorax leaves no room in the drawn zone, the other zones and then the other side are tried, then the
        // lesion shrinks (keeping its nodule/mass class); the label records where it really went.
        double[] bounds = [0.10, 0.36, 0.64, 0.92];
        var drawnZone = Array.IndexOf(Zones, c.LesionZone);
        var drawnSide = c.LesionSide;
        var places = new List<(string Side, int Zone)>();
        foreach (var side in new[] { drawnSide, drawnSide == "right" ? "left" : "right" })
            for (var z = 0; z < 3; z++) places.Add((side, (drawnZone + z) % 3));
        var floor = mass ? 3.0 : 0.8;
        for (var shrink = 0; shrink < 40; shrink++)
        {
            var radius = c.LesionDiameterCm / c.PixelSpacingCm / 2;
            foreach (var (side, zone) in places)
            {
                var sign = ChestCase.SideSign(side);
                var top = c.ApexY;
                var height = c.DomeY(sign) - top;
                for (var attempt = 0; attempt < 200; attempt++)
                {
                    var y = top + height * rng.Uniform(bounds[zone], bounds[zone + 1]);
                    var x = c.CenterX + sign * rng.Uniform(c.MediastinumHalf, c.HalfThorax);
                    if (!Fits(c, sign, x, y, radius + 1.0)) continue;
                    c.LesionSide = side;
                    c.LesionZone = Zones[zone];
                    c.LesionX = x;
                    c.LesionY = y;
                    c.LesionDiameterPx = 2 * radius;
                    return;
                }
            }
            c.LesionDiameterCm = Math.Max(floor, c.LesionDiameterCm * 0.93);
        }
        throw new InvalidOperationException($"SynthCXR: could not place a {c.LesionDiameterCm:0.0} cm {c.LesionType} anywhere in the lungs of a {c.Size} px image.");
    }

    private static bool Fits(ChestCase c, int sign, double x, double y, double r)
    {
        if (!c.InAeratedLung(sign, x, y)) return false;
        for (var k = 0; k < 16; k++)
        {
            var a = k * Math.PI / 8;
            if (!c.InAeratedLung(sign, x + r * Math.Cos(a), y + r * Math.Sin(a))) return false;
        }
        return true;
    }
}
