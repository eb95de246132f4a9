using System.Text;
using SeLoRA.Diffusion.Loading;
using SeLoRA.Torch.Safetensors;
using SeLoRA.TestSupport;
using SeLoRA.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Tests.Loading;

public sealed class SafetensorsFileTests
{
    static Dictionary<string, Tensor> AllDtypes()
    {
        TorchRuntime.EnsureLoaded();
        torch.manual_seed(7);
        return new Dictionary<string, Tensor>
        {
            ["f32"] = torch.randn(3, 4),
            ["f16"] = torch.randn(5).to(ScalarType.Float16),
            ["bf16"] = torch.randn(2, 3).to(ScalarType.BFloat16),
            ["f64"] = torch.randn(3, dtype: ScalarType.Float64),
            ["i64"] = torch.arange(0L, 77L).reshape(1, 77),
            ["i32"] = torch.tensor(new[] { -1, 2, int.MaxValue }),
            ["u8"] = torch.tensor(new byte[] { 0, 255, 7 }),
            ["bool"] = torch.tensor(new[] { true, false, true }),
            ["scalar"] = torch.tensor(2.5f),
            ["empty"] = torch.zeros(0, 3),
            ["transposed"] = torch.randn(3, 2).t(),
        };
    }

    [Fact]
    public void Round_trip_keeps_every_dtype_shape_and_value()
    {
        using var folder = new TempFolder();
        var tensors = AllDtypes();
        var path = folder.File("all.safetensors");
        SafetensorsFile.Save(path, tensors);
        var back = SafetensorsFile.Load(path);
        Assert.Equal(tensors.Keys.Order(), back.Keys.Order());
        foreach (var (k, v) in tensors) TensorAssert.Equal(v, back[k], k);

        var header = SafetensorsFile.ReadHeader(path);
        Assert.Equal("pt", header.Metadata["format"]);
        Assert.Equal(0, header.DataStart % 8);
        foreach (var e in header.Entries)
            Assert.Equal(0, e.Begin % SafetensorsDType.ElementSize(e.DType));
        TensorAssert.Dispose(tensors.Values.Concat(back.Values));
    }

    [Fact]
    public void PyBridge_reads_our_F32_F16_BF16_I64_files_identically()
    {
        using var folder = new TempFolder();
        var tensors = AllDtypes().Where(kv => kv.Key is "f32" or "f16" or "bf16" or "i64").ToDictionary();
        var path = folder.File("four.safetensors");
        SafetensorsFile.Save(path, tensors);
        var viaPyBridge = TorchSharp.PyBridge.Safetensors.LoadStateDict(path);
        Assert.Equal(tensors.Keys.Order(), viaPyBridge.Keys.Order());
        foreach (var (k, v) in tensors) TensorAssert.Equal(v, viaPyBridge[k], k);
        TensorAssert.Dispose(tensors.Values.Concat(viaPyBridge.Values));
    }

    /// <summary>A file written byte by byte with our own header: known bit patterns for F16, BF16, F32 and I64, no metadata.</summary>
    [Fact]
    public void Reads_a_hand_written_file_with_known_bit_patterns()
    {
        using var folder = new TempFolder();
        var data = new List<byte>();
        // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800
        foreach (var h in new ushort[] { 0x3C00, 0xC000, 0x3800 }) data.AddRange(BitConverter.GetBytes(h));
        // BF16: 1.0 = 0x3F80, 3.140625 = 0x4049
        foreach (var h in new ushort[] { 0x3F80, 0x4049 }) data.AddRange(BitConverter.GetBytes(h));
        foreach (var f in new[] { 1.5f, -0.25f }) data.AddRange(BitConverter.GetBytes(f));
        foreach (var l in new[] { 0L, 76L, -5L }) data.AddRange(BitConverter.GetBytes(l));
        var header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,6]}," +
                     "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[6,10]}," +
                     "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[10,18]}," +
                     "\"i\":{\"dtype\":\"I64\",\"shape\":[1,3],\"data_offsets\":[18,42]}}";
        var path = folder.File("hand.safetensors");
        var headerBytes = Encoding.UTF8.GetBytes(header);
        File.WriteAllBytes(path, BitConverter.GetBytes((ulong)headerBytes.Length).Concat(headerBytes).Concat(data).ToArray());

        var t = SafetensorsFile.Load(path);
        Assert.Equal(ScalarType.Float16, t["h"].dtype);
        Assert.Equal(new[] { 1f, -2f, 0.5f }, t["h"].to(ScalarType.Float32).data<float>().ToArray());
        Assert.Equal(ScalarType.BFloat16, t["b"].dtype);
        Assert.Equal(new long[] { 2, 1 }, t["b"].shape);
        Assert.Equal(new[] { 1f, 3.140625f }, t["b"].to(ScalarType.Float32).data<float>().ToArray());
        Assert.Equal(new[] { 1.5f, -0.25f }, t["f"].data<float>().ToArray());
        Assert.Equal(new[] { 0L, 76L, -5L }, t["i"].data<long>().ToArray());
        Assert.Empty(SafetensorsFile.ReadHeader(path).Metadata);

        var viaPyBridge = TorchSharp.PyBridge.Safetensors.LoadStateDict(path);
        foreach (var (k, v) in t) TensorAssert.Equal(v, viaPyBridge[k], k);
        TensorAssert.Dispose(t.Values.Concat(viaPyBridge.Values));
    }

    [Fact]
    public void Truncated_file_and_unknown_dtype_fail_naming_file_and_tensor()
    {
        using var folder = new TempFolder();
        var path = folder.File("t.safetensors");
        using (var a = torch.randn(4, 4)) SafetensorsFile.Save(path, [new("weight", a)]);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^8]);
        var e = Assert.Throws<WeightFileException>(() => SafetensorsFile.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'weight'", e.Message);

        var header = Encoding.UTF8.GetBytes("{\"x\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}");
        File.WriteAllBytes(path, BitConverter.GetBytes((ulong)header.Length).Concat(header).Concat(new byte[2]).ToArray());
        e = Assert.Throws<WeightFileException>(() => SafetensorsFile.Load(path));
        Assert.Contains("'x'", e.Message);
        Assert.Contains("F8_E4M3", e.Message);

        header = Encoding.UTF8.GetBytes("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}");
        File.WriteAllBytes(path, BitConverter.GetBytes((ulong)header.Length).Concat(header).Concat(new byte[4]).ToArray());
        e = Assert.Throws<WeightFileException>(() => SafetensorsFile.Load(path));
        Assert.Contains("'x': 4 bytes stored, but F32 [2] needs 8", e.Message);
    }

    [Fact]
    public void Our_reader_agrees_with_PyBridge_on_the_tiny_reference_models()
    {
        var root = RepoPaths.RequireShared("fixtures/tiny-sd-models");
        foreach (var file in Directory.GetFiles(root, "*.safetensors", SearchOption.AllDirectories))
        {
            var ours = SafetensorsFile.Load(file);
            var theirs = TorchSharp.PyBridge.Safetensors.LoadStateDict(file);
            Assert.Equal(theirs.Keys.Order(), ours.Keys.Order());
            foreach (var (k, v) in theirs) TensorAssert.Equal(v, ours[k], $"{Path.GetFileName(file)}:{k}");
            TensorAssert.Dispose(ours.Values.Concat(theirs.Values));
        }
    }
}
