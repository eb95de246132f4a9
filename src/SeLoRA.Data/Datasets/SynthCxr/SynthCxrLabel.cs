using System.Text.Json.Serialization;

namespace SeLoRA.Data.Datasets.SynthCxr;

/// <summary>
/// One line of labels.jsonl: the ground truth of one SynthCXR image. Lengths are in pixels of the saved image
/// (x = column, y = row, pixel centres at +0.5); sides are the patient's ("right" is on the image left, PA view);
/// the fields of an absent finding are null.
/// </summary>
public sealed record SynthCxrLabel
{
    [JsonPropertyName("file_name")] public required string FileName { get; init; }
    [JsonPropertyName("index")] public int Index { get; init; }
    [JsonPropertyName("image_seed")] public ulong ImageSeed { get; init; }
    [JsonPropertyName("size")] public int Size { get; init; }
    [JsonPropertyName("pixel_spacing_cm")] public double PixelSpacingCm { get; init; }
    [JsonPropertyName("normal")] public bool Normal { get; init; }

    [JsonPropertyName("cardiomegaly")] public bool Cardiomegaly { get; init; }
    /// <summary>Cardiothoracic ratio = heart_width_px / thoracic_width_px, both on row heart_row_px.</summary>
    [JsonPropertyName("ctr")] public double Ctr { get; init; }
    [JsonPropertyName("heart_width_px")] public double HeartWidthPx { get; init; }
    [JsonPropertyName("thoracic_width_px")] public double ThoracicWidthPx { get; init; }
    [JsonPropertyName("heart_row_px")] public int HeartRowPx { get; init; }
    [JsonPropertyName("heart_center_x_px")] public double HeartCenterXPx { get; init; }
    [JsonPropertyName("thorax_center_x_px")] public double ThoraxCenterXPx { get; init; }
    [JsonPropertyName("apex_y_px")] public double ApexYPx { get; init; }
    [JsonPropertyName("hilum_y_px")] public double HilumYPx { get; init; }
    [JsonPropertyName("right_dome_y_px")] public double RightDomeYPx { get; init; }
    [JsonPropertyName("left_dome_y_px")] public double LeftDomeYPx { get; init; }
    [JsonPropertyName("right_costophrenic_y_px")] public double RightCostophrenicYPx { get; init; }
    [JsonPropertyName("left_costophrenic_y_px")] public double LeftCostophrenicYPx { get; init; }

    [JsonPropertyName("effusion")] public bool Effusion { get; init; }
    /// <summary>"right", "left" or "bilateral".</summary>
    [JsonPropertyName("effusion_side")] public string? EffusionSide { get; init; }
    /// <summary>"small", "moderate" or "large".</summary>
    [JsonPropertyName("effusion_size")] public string? EffusionSize { get; init; }
    /// <summary>Highest point of the fluid (the meniscus at the lateral chest wall).</summary>
    [JsonPropertyName("effusion_top_y_px")] public double? EffusionTopYPx { get; init; }

    /// <summary>A focal lesion under 3 cm.</summary>
    [JsonPropertyName("nodule")] public bool Nodule { get; init; }
    /// <summary>A focal lesion of 3 cm or more.</summary>
    [JsonPropertyName("mass")] public bool Mass { get; init; }
    [JsonPropertyName("lesion_side")] public string? LesionSide { get; init; }
    /// <summary>"upper", "middle" or "lower" (thirds of the apex-to-dome height, roughly).</summary>
    [JsonPropertyName("lesion_zone")] public string? LesionZone { get; init; }
    [JsonPropertyName("lesion_diameter_cm")] public double? LesionDiameterCm { get; init; }
    [JsonPropertyName("lesion_diameter_px")] public double? LesionDiameterPx { get; init; }
    [JsonPropertyName("lesion_center_x_px")] public double? LesionCenterXPx { get; init; }
    [JsonPropertyName("lesion_center_y_px")] public double? LesionCenterYPx { get; init; }

    [JsonPropertyName("pneumothorax")] public bool Pneumothorax { get; init; }
    [JsonPropertyName("pneumothorax_side")] public string? PneumothoraxSide { get; init; }
    /// <summary>"small" or "large".</summary>
    [JsonPropertyName("pneumothorax_size")] public string? PneumothoraxSize { get; init; }
    /// <summary>Gap between the apex of the chest and the collapsed lung's pleural line.</summary>
    [JsonPropertyName("pneumothorax_apical_gap_px")] public double? PneumothoraxApicalGapPx { get; init; }

    [JsonPropertyName("device")] public bool Device { get; init; }
    /// <summary>"central_venous_catheter", "endotracheal_tube" or "nasogastric_tube".</summary>
    [JsonPropertyName("device_type")] public string? DeviceType { get; init; }

    [JsonPropertyName("text")] public required string Text { get; init; }

    internal static SynthCxrLabel From(ChestCase c, string fileName, int index, ulong imageSeed, string text)
    {
        static double R(double v) => Math.Round(v, 3);
        return new SynthCxrLabel
        {
            FileName = fileName,
            Index = index,
            ImageSeed = imageSeed,
            Size = c.Size,
            PixelSpacingCm = R(c.PixelSpacingCm * 1000) / 1000,
            Normal = c.IsNormal,
            Cardiomegaly = c.Cardiomegaly,
            Ctr = Math.Round(c.Ctr, 4),
            HeartWidthPx = R(2 * c.HeartHalfWidth),
            ThoracicWidthPx = R(2 * c.HalfThorax),
            HeartRowPx = c.HeartRow,
            HeartCenterXPx = R(c.HeartCenterX),
            ThoraxCenterXPx = R(c.CenterX),
            ApexYPx = R(c.ApexY),
            HilumYPx = R(c.HilumY),
            RightDomeYPx = R(c.RightDomeY),
            LeftDomeYPx = R(c.LeftDomeY),
            RightCostophrenicYPx = R(c.RightCostophrenicY),
            LeftCostophrenicYPx = R(c.LeftCostophrenicY),
            Effusion = c.EffusionSide != null,
            EffusionSide = c.EffusionSide,
            EffusionSize = c.EffusionSize,
            EffusionTopYPx = c.EffusionSide == null ? null : R(c.EffusionLateralTopY),
            Nodule = c.LesionType == "nodule",
            Mass = c.LesionType == "mass",
            LesionSide = c.LesionSide,
            LesionZone = c.LesionZone,
            LesionDiameterCm = c.LesionType == null ? null : Math.Round(c.LesionDiameterCm, 2),
            LesionDiameterPx = c.LesionType == null ? null : R(c.LesionDiameterPx),
            LesionCenterXPx = c.LesionType == null ? null : R(c.LesionX),
            LesionCenterYPx = c.LesionType == null ? null : R(c.LesionY),
            Pneumothorax = c.PneumothoraxSide != null,
            PneumothoraxSide = c.PneumothoraxSide,
            PneumothoraxSize = c.PneumothoraxSize,
            PneumothoraxApicalGapPx = c.PneumothoraxSide == null ? null : R(c.PneumothoraxCollapse * (c.HilumY - c.ApexY)),
            Device = c.DeviceType != null,
            DeviceType = c.DeviceType,
            Text = text,
        };
    }
}
