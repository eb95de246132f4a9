using TorchSharp;

namespace SeLoRA.Torch.Devices;

/// <summary>Turns a configured device string into a torch device, at run time, never assuming CUDA.</summary>
public static class DevicePicker
{
    /// <summary>
    /// "auto": cuda:0 when a CUDA device is present, else cpu. "cpu". "cuda" or "cuda:N": that device, or an error
    /// naming <paramref name="settingName"/> when it is absent.
    /// </summary>
    public static torch.Device Pick(string preference, string settingName = "selora.torch.device")
    {
        TorchRuntime.EnsureLoaded();
        var text = (preference ?? "").Trim().ToLowerInvariant();
        if (text is "" or "auto")
            return CudaCount() > 0 ? torch.CUDA : torch.CPU;
        if (text == "cpu")
            return torch.CPU;
        if (text == "cuda" || text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            var index = 0;
            if (text.Length > 4 && (!int.TryParse(text.AsSpan(5), out index) || index < 0))
                throw new ArgumentException($"{settingName} = \"{preference}\": expected cuda:N with N a device index.");
            var count = CudaCount();
            if (index >= count)
                throw new ArgumentException(
                    $"{settingName} = \"{preference}\": this machine has {count} CUDA device(s). " +
                    "Use \"auto\" or \"cpu\", or build with -p:TorchBackend=cuda on a machine with CUDA.");
            return new torch.Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"{settingName} = \"{preference}\": expected auto, cpu, cuda or cuda:N.");
    }

    /// <summary>Every device this process can train on, CUDA devices first.</summary>
    public static IReadOnlyList<torch.Device> Available()
    {
        TorchRuntime.EnsureLoaded();
        var devices = Enumerable.Range(0, CudaCount()).Select(i => new torch.Device(DeviceType.CUDA, i)).ToList();
        devices.Add(torch.CPU);
        return devices;
    }

    static int CudaCount() => torch.cuda.is_available() ? torch.cuda.device_count() : 0;
}
