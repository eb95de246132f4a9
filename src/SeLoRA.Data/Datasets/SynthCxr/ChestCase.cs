namespace SeLoRA.Data.Datasets.SynthCxr;

/// <summary>
/// One sampled image: anatomy and findings, all lengths in pixels with pixel (row i, column j) centred at (j + 0.5, i + 0.5).
/// Sides are the patient's: the patient's right is on the image left (PA view), so side sign = -1 for right, +1 for left.
/// </summary>
internal sealed class ChestCase
{
    public int Size;
    public double CenterX;
    public double HalfThorax;
    public double Wall;
    public double ApexY;
    public double MediastinumHalf;
    public double RightDomeY, LeftDomeY;
    public double RightCostophrenicY, LeftCostophrenicY;
    public double HilumY;
    public double CarinaY;
    public int HeartRow;
    public double HeartCenterX, HeartHalfWidth, HeartUp, HeartDown;
    public double Ctr;
    public bool Cardiomegaly;

    public string? EffusionSide;          // "right", "left", "bilateral"
    public string? EffusionSize;          // "small", "moderate", "large"
    public double EffusionLateralTopY, EffusionMeniscus;

    public string? LesionType;            // "nodule", "mass"
    public string? LesionSide, LesionZone;
    public double LesionDiameterCm, LesionDiameterPx, LesionX, LesionY;
    public double LesionPhase1, LesionPhase2;

    public string? PneumothoraxSide;      // "right", "left"
    public string? PneumothoraxSize;      // "small", "large"
    public double PneumothoraxCollapse;   // 1 - scale of the collapsed lung about the hilum at the apex

    public string? DeviceType;            // "central_venous_catheter", "endotracheal_tube", "nasogastric_tube"
    public double[] DevicePath = [];      // x0, y0, x1, y1, ... control points in pixels

    public double PixelSpacingCm;

    public double DomeY(int sign) => sign < 0 ? RightDomeY : LeftDomeY;
    public double CostophrenicY(int sign) => sign < 0 ? RightCostophrenicY : LeftCostophrenicY;
    public double HilumX(int sign) => CenterX + sign * (MediastinumHalf + 0.05 * Size);

    public bool HasEffusion(int sign) => EffusionSide == "bilateral" || EffusionSide == SideName(sign);
    public static string SideName(int sign) => sign < 0 ? "right" : "left";
    public static int SideSign(string side) => side == "right" ? -1 : 1;

    public bool IsNormal => !Cardiomegaly && EffusionSide == null && LesionType == null && PneumothoraxSide == null && DeviceType == null;

    // --- geometry ---

    public double MediastinumHalfAt(int sign, double y)
    {
        // The mediastinum narrows to the spine where the heart takes over, so the heart alone sets the medial lung
        // border on the heart's widest row.
        var taper = Math.Clamp((y - (HeartRow + 0.5 - 0.6 * HeartUp)) / (0.45 * HeartUp), 0, 1);
        taper = taper * taper * (3 - 2 * taper);
        var half = MediastinumHalf + (0.03 * Size - MediastinumHalf) * taper;
        if (sign > 0)
        {
            // Aortic knob: a bulge of the left mediastinal border.
            var t = (y - (ApexY + 0.20 * Size)) / (0.035 * Size);
            half += 0.035 * Size * Math.Exp(-t * t);
        }
        return half;
    }

    public bool InHeart(double x, double y)
    {
        var dx = (x - HeartCenterX) / HeartHalfWidth;
        var dy = (y - (HeartRow + 0.5)) / (y < HeartRow + 0.5 ? HeartUp : HeartDown);
        return dx * dx + dy * dy <= 1.0;
    }

    /// <summary>Hemidiaphragm height at lateral distance d from the midline.</summary>
    public double DiaphragmY(int sign, double d)
    {
        var dome = DomeY(sign);
        var dc = 0.15 * Size;
        if (d <= dc) { var m = (dc - d) / dc; return dome + 0.02 * Size * m * m; }
        var t = Math.Min(1.2, (d - dc) / (HalfThorax - dc));
        return dome + (CostophrenicY(sign) - dome) * Math.Pow(t, 2.5);
    }

    /// <summary>Upper lung border (apical dome) at lateral distance d.</summary>
    public double LungTopY(double d)
    {
        var dA = 0.5 * HalfThorax;
        if (d >= dA) { var t = (d - dA) / (HalfThorax - dA); return ApexY + 0.30 * Size * t * t; }
        var m = (dA - d) / dA;
        return ApexY + 0.25 * Size * m * m;
    }

    /// <summary>Inside the aerated lung outline of one side (ignoring pneumothorax and effusion).</summary>
    public bool InLung(int sign, double x, double y)
    {
        var d = sign * (x - CenterX);
        if (d > HalfThorax || d < MediastinumHalfAt(sign, y)) return false;
        if (y < LungTopY(d) || y > DiaphragmY(sign, d)) return false;
        return !InHeart(x, y);
    }

    private double CollapseScale(double y)
    {
        // Full collapse at the apex, none at the hilum, so the pneumothorax stays apical and lateral.
        var t = Math.Clamp((HilumY - y) / (HilumY - ApexY), 0, 1);
        t = t * t * (3 - 2 * t);
        return 1 - PneumothoraxCollapse * t;
    }

    /// <summary>Inside the collapsed lung: p maps back into the outline when scaled about the hilum by 1/k.</summary>
    public bool InCollapsedLung(int sign, double x, double y, double extra = 0)
    {
        var k = CollapseScale(y) + extra;
        var hx = HilumX(sign);
        return InLung(sign, hx + (x - hx) / k, HilumY + (y - HilumY) / k);
    }

    public bool InPneumothoraxSpace(int sign, double x, double y)
        => PneumothoraxSide != null && SideSign(PneumothoraxSide) == sign && y < HilumY
           && InLung(sign, x, y) && !InCollapsedLung(sign, x, y);

    /// <summary>Top of the pleural fluid at lateral distance d (meniscus: higher laterally).</summary>
    public double EffusionTopY(double d)
    {
        var t = Math.Clamp((d - MediastinumHalf) / (HalfThorax - MediastinumHalf), 0, 1);
        return EffusionLateralTopY + EffusionMeniscus * (1 - t * t);
    }

    public bool InEffusion(int sign, double x, double y)
    {
        if (!HasEffusion(sign)) return false;
        var d = sign * (x - CenterX);
        if (d > HalfThorax + 0.5 || d < MediastinumHalf || InHeart(x, y)) return false;
        return y >= EffusionTopY(d) && y <= Math.Min(CostophrenicY(sign), DiaphragmY(sign, d)) + 0.015 * Size;
    }

    /// <summary>Aerated lung a lesion may sit in: lung, not pneumothorax space, not under fluid.</summary>
    public bool InAeratedLung(int sign, double x, double y)
        => InLung(sign, x, y) && !InPneumothoraxSpace(sign, x, y) && !InEffusion(sign, x, y);
}
