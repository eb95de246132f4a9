using SeLoRA.Data.Datasets;
using SeLoRA.Data.Preprocessing;
using SkiaSharp;
using static TorchSharp.torch;

namespace SeLoRA.Data.Inspection;

/// <summary>A PNG contact sheet of dataset samples, each image with its prompt underneath, as a user sees the data.</summary>
public static class SampleGrid
{
    public static void Save(IReadOnlyList<TextImageExample> examples, string path, int columns = 4, int cell = 192, int captionLines = 4)
    {
        if (examples.Count == 0) throw new ArgumentException("no examples to draw.");
        var rows = (examples.Count + columns - 1) / columns;
        const int fontSize = 11;
        var captionHeight = captionLines * (fontSize + 3) + 6;
        using var bitmap = new SKBitmap(columns * cell, rows * (cell + captionHeight));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, fontSize);
        using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        for (var i = 0; i < examples.Count; i++)
        {
            var x = i % columns * cell;
            var y = i / columns * (cell + captionHeight);
            using (var scope = NewDisposeScope())
            {
                var image = ImagePreprocessor.Load(examples[i].ImagePath, new PreprocessSettings(cell)).add(1).div(2).clamp(0, 1);
                var bytes = image.mul(255).round().to(uint8).permute(1, 2, 0).contiguous().data<byte>().ToArray();
                for (var py = 0; py < cell; py++)
                    for (var px = 0; px < cell; px++)
                    {
                        var o = (py * cell + px) * 3;
                        bitmap.SetPixel(x + px, y + py, new SKColor(bytes[o], bytes[o + 1], bytes[o + 2]));
                    }
            }
            var lines = Wrap(examples[i].Prompt, font, cell - 8).Take(captionLines).ToList();
            for (var l = 0; l < lines.Count; l++)
                canvas.DrawText(lines[l], x + 4, y + cell + 4 + (l + 1) * (fontSize + 3), SKTextAlign.Left, font, paint);
        }
        canvas.Flush();
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory != null) Directory.CreateDirectory(directory);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    static IEnumerable<string> Wrap(string text, SKFont font, float width)
    {
        var line = "";
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = line.Length == 0 ? word : line + " " + word;
            if (font.MeasureText(candidate) <= width || line.Length == 0) line = candidate;
            else
            {
                yield return line;
                line = word;
            }
        }
        if (line.Length > 0) yield return line;
    }
}
