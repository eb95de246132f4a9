using SeLoRA.Torch.Devices;
using TorchSharp;

namespace SeLoRA.Torch.Tests.Devices;

public class DevicePickerTests
{
    static bool HasCuda => torch.cuda.is_available();

    [Theory]
    [InlineData("auto")]
    [InlineData("")]
    [InlineData(" AUTO ")]
    public void Auto_picks_cuda_0_when_present_and_cpu_otherwise(string preference)
    {
        var device = DevicePicker.Pick(preference);
        Assert.Equal(HasCuda ? DeviceType.CUDA : DeviceType.CPU, device.type);
    }

    [Fact]
    public void Cpu_is_always_available_and_listed_last()
    {
        Assert.Equal(DeviceType.CPU, DevicePicker.Pick("cpu").type);
        Assert.Equal(DeviceType.CPU, DevicePicker.Available()[^1].type);
    }

    [Fact]
    public void A_missing_cuda_device_is_an_error_naming_the_setting_and_the_device_count()
    {
        var error = Assert.Throws<ArgumentException>(() => DevicePicker.Pick("cuda:99", "my.setting"));
        Assert.Contains("my.setting", error.Message);
        Assert.Contains("cuda:99", error.Message);
        Assert.Contains($"{(HasCuda ? torch.cuda.device_count() : 0)} CUDA device(s)", error.Message);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    public void Unknown_device_strings_are_rejected(string preference)
    {
        var error = Assert.Throws<ArgumentException>(() => DevicePicker.Pick(preference));
        Assert.Contains("selora.torch.device", error.Message);
        Assert.Contains(preference, error.Message);
    }
}
