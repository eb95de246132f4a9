using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace SeLoRA.Data.Preprocessing;

/// <summary>
/// Decodes 16-bit PNGs at full precision (value / 65535). SkiaSharp 3.119's SKCodec reports 16-bit PNGs as Gray8 or
/// Bgra8888, refuses Rgba16161616 and Alpha16 (InvalidConversion), and its RgbaF16 output is half-float (11-bit
/// mantissa, and colour-managed), so it cannot keep 16-bit X-rays exact; this path inflates the IDAT data itself.
/// Non-interlaced grayscale, gray+alpha, RGB and RGBA are supported; alpha is dropped.
/// </summary>
internal static class Png16Decoder
{
    static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The IHDR of a PNG file, or null when the bytes are not a PNG.</summary>
    public static (int Width, int Height, int BitDepth, int ColorType, int Interlace)? ReadHeader(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 33 || !bytes[..8].SequenceEqual(Signature)) return null;
        if (Encoding.ASCII.GetString(bytes.Slice(12, 4)) != "IHDR") return null;
        return (BinaryPrimitives.ReadInt32BigEndian(bytes[16..]), BinaryPrimitives.ReadInt32BigEndian(bytes[20..]),
            bytes[24], bytes[25], bytes[28]);
    }

    /// <summary>Samples as float in [0, 1], channels first: [C, H, W] with C = 1 (gray) or 3 (RGB).</summary>
    public static (float[] Data, int Channels, int Height, int Width) Decode(byte[] bytes, string path)
    {
        var header = ReadHeader(bytes) ?? throw new InvalidDataException($"{path}: not a PNG file.");
        var (width, height, bitDepth, colorType, interlace) = header;
        if (bitDepth != 16) throw new InvalidDataException($"{path}: expected a 16-bit PNG, got bit depth {bitDepth}.");
        if (interlace != 0) throw new InvalidDataException($"{path}: interlaced (Adam7) 16-bit PNGs are not supported; re-save it non-interlaced.");
        if (width <= 0 || height <= 0) throw new InvalidDataException($"{path}: PNG size {width}x{height} is invalid.");
        int samplesPerPixel = colorType switch
        {
            0 => 1, 4 => 2, 2 => 3, 6 => 4,
            _ => throw new InvalidDataException($"{path}: PNG colour type {colorType} is not valid with bit depth 16."),
        };
        int outChannels = colorType is 0 or 4 ? 1 : 3;
        int bpp = samplesPerPixel * 2;
        long stride = (long)width * bpp;
        if (stride * height > int.MaxValue) throw new InvalidDataException($"{path}: PNG {width}x{height} is too large.");

        var idat = new MemoryStream();
        int pos = 8;
        bool sawEnd = false;
        while (pos + 12 <= bytes.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(pos));
            var type = Encoding.ASCII.GetString(bytes, pos + 4, 4);
            if (length < 0 || pos + 12L + length > bytes.Length)
                throw new InvalidDataException($"{path}: PNG chunk '{type}' at byte {pos} runs past the end of the file (truncated?).");
            uint expected = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(pos + 8 + length));
            if (Crc32(bytes.AsSpan(pos + 4, 4 + length)) != expected)
                throw new InvalidDataException($"{path}: PNG chunk '{type}' at byte {pos} has a bad CRC (corrupt file).");
            if (type == "IDAT") idat.Write(bytes, pos + 8, length);
            pos += 12 + length;
            if (type == "IEND") { sawEnd = true; break; }
        }
        if (!sawEnd) throw new InvalidDataException($"{path}: PNG has no IEND chunk (truncated file).");

        var raw = new byte[(stride + 1) * height];
        idat.Position = 0;
        using (var z = new ZLibStream(idat, CompressionMode.Decompress))
        {
            int read = 0;
            try
            {
                while (read < raw.Length)
                {
                    int n = z.Read(raw, read, raw.Length - read);
                    if (n == 0) break;
                    read += n;
                }
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: PNG image data does not inflate: {e.Message}", e);
            }
            if (read < raw.Length)
                throw new InvalidDataException($"{path}: PNG image data holds {read} of {raw.Length} bytes (truncated).");
        }

        Unfilter(raw, (int)stride, height, bpp, path);

        var data = new float[outChannels * height * width];
        int plane = height * width;
        for (int y = 0; y < height; y++)
        {
            int row = y * ((int)stride + 1) + 1;
            for (int x = 0; x < width; x++)
            {
                int p = row + x * bpp;
                for (int c = 0; c < outChannels; c++)
                {
                    int v = (raw[p + 2 * c] << 8) | raw[p + 2 * c + 1];
                    data[c * plane + y * width + x] = (float)(v / 65535.0);
                }
            }
        }
        return (data, outChannels, height, width);
    }

    // PNG filters (spec section 9) are byte-wise, whatever the bit depth.
    static void Unfilter(byte[] raw, int stride, int height, int bpp, string path)
    {
        for (int y = 0; y < height; y++)
        {
            int start = y * (stride + 1);
            int filter = raw[start];
            int cur = start + 1;
            int prev = cur - (stride + 1);
            for (int i = 0; i < stride; i++)
            {
                int a = i >= bpp ? raw[cur + i - bpp] : 0;
                int b = y > 0 ? raw[prev + i] : 0;
                int c = y > 0 && i >= bpp ? raw[prev + i - bpp] : 0;
                int add = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) >> 1,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"{path}: PNG row {y} has unknown filter type {filter}."),
                };
                raw[cur + i] = (byte)(raw[cur + i] + add);
            }
        }
    }

    static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    static readonly uint[] CrcTable = BuildCrcTable();

    static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in data) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFF;
    }
}
