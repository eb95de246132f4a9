using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace SeLoRA.Data.Tests.Preprocessing;

/// <summary>
/// A minimal PNG writer for fixtures SkiaSharp cannot encode (16-bit grayscale/RGB): one IDAT, filter 0 on every row.
/// </summary>
internal static class TestPngWriter
{
    /// <summary>Samples are row-major, interleaved per pixel (1 = gray, 3 = RGB), in [0, 2^bitDepth).</summary>
    public static void Write(string path, int width, int height, int channels, int bitDepth, IReadOnlyList<int> samples, bool filtered = false)
    {
        if (samples.Count != width * height * channels) throw new ArgumentException("sample count does not match the size");
        int bytesPerSample = bitDepth / 8;
        int stride = width * channels * bytesPerSample, bpp = channels * bytesPerSample;
        var rows = new byte[height][];
        for (int y = 0; y < height; y++)
        {
            rows[y] = new byte[stride];
            for (int i = 0; i < width * channels; i++)
            {
                int v = samples[y * width * channels + i];
                if (bytesPerSample == 2) { rows[y][2 * i] = (byte)(v >> 8); rows[y][2 * i + 1] = (byte)v; }
                else rows[y][i] = (byte)v;
            }
        }
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            // Filtered rows cycle through Sub, Up, Average and Paeth so the decoder's unfiltering is exercised.
            int filter = filtered ? 1 + y % 4 : 0;
            raw.WriteByte((byte)filter);
            for (int i = 0; i < stride; i++)
            {
                int a = i >= bpp ? rows[y][i - bpp] : 0;
                int b = y > 0 ? rows[y - 1][i] : 0;
                int c = y > 0 && i >= bpp ? rows[y - 1][i - bpp] : 0;
                int predictor = filter switch { 1 => a, 2 => b, 3 => (a + b) >> 1, 4 => Paeth(a, b, c), _ => 0 };
                raw.WriteByte((byte)(rows[y][i] - predictor));
            }
        }
        var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(z);

        using var file = File.Create(path);
        file.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(0), width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = (byte)bitDepth;
        ihdr[9] = (byte)(channels == 1 ? 0 : 2);
        Chunk(file, "IHDR", ihdr);
        Chunk(file, "IDAT", compressed.ToArray());
        Chunk(file, "IEND", []);
    }

    static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    static void Chunk(Stream s, string type, byte[] data)
    {
        var len = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        s.Write(typeBytes);
        s.Write(data);
        var crcInput = typeBytes.Concat(data).ToArray();
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(crcInput));
        s.Write(crc);
    }

    static uint Crc32(byte[] data)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return c ^ 0xFFFFFFFF;
    }
}
