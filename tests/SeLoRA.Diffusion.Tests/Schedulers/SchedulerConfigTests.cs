using SeLoRA.Diffusion.Schedulers;
using SeLoRA.TestSupport;

namespace SeLoRA.Diffusion.Tests.Schedulers;

public class SchedulerConfigTests
{
    [Fact]
    public void Sd15ConfigFileReadsAsTheStaticValues()
    {
        var config = SchedulerConfig.FromJson(RepoPaths.RequireShared("sd15/scheduler_config.json"));
        Assert.Equal(SchedulerConfig.StableDiffusion15, config);
        Assert.Equal("PNDMScheduler", config.ClassName);
        Assert.Equal(1000, config.NumTrainTimesteps);
        Assert.Equal(0.00085, config.BetaStart);
        Assert.Equal(0.012, config.BetaEnd);
        Assert.Equal(BetaSchedule.ScaledLinear, config.BetaSchedule);
        Assert.False(config.SetAlphaToOne);
        Assert.True(config.SkipPrkSteps);
        Assert.Equal(1, config.StepsOffset);
        Assert.False(config.ClipSample);
        Assert.Null(config.TrainedBetas);
        // Absent in the file: diffusers defaults.
        Assert.Equal(PredictionType.Epsilon, config.PredictionType);
        Assert.Equal(TimestepSpacing.Leading, config.TimestepSpacing);
        Assert.False(config.Thresholding);
        Assert.False(config.RescaleBetasZeroSnr);
    }

    [Fact]
    public void EmptyObjectGivesDiffusersDefaults()
    {
        var config = SchedulerConfig.FromJsonText("{}");
        Assert.Equal(new SchedulerConfig(), config);
        Assert.Equal(1000, config.NumTrainTimesteps);
        Assert.Equal(0.0001, config.BetaStart);
        Assert.Equal(0.02, config.BetaEnd);
        Assert.Equal(BetaSchedule.Linear, config.BetaSchedule);
        Assert.Equal(PredictionType.Epsilon, config.PredictionType);
        Assert.Equal(0, config.StepsOffset);
        Assert.Null(config.SetAlphaToOne);
        Assert.False(config.SkipPrkSteps);
        Assert.True(config.ClipSample);
        Assert.Equal(1.0, config.ClipSampleRange);
        Assert.Equal(0.995, config.DynamicThresholdingRatio);
        Assert.Equal(1.0, config.SampleMaxValue);
        Assert.Equal(TimestepSpacing.Leading, config.TimestepSpacing);
        Assert.Equal(VarianceType.FixedSmall, config.VarianceType);
    }

    [Fact]
    public void EveryNamedValueParses()
    {
        var config = SchedulerConfig.FromJsonText("""
            {"beta_schedule": "squaredcos_cap_v2", "prediction_type": "v_prediction", "timestep_spacing": "trailing",
             "variance_type": "fixed_small_log", "set_alpha_to_one": true, "thresholding": true, "num_train_timesteps": 1000.0,
             "trained_betas": null, "unknown_field": [1, 2]}
            """);
        Assert.Equal(BetaSchedule.SquaredcosCapV2, config.BetaSchedule);
        Assert.Equal(PredictionType.VPrediction, config.PredictionType);
        Assert.Equal(TimestepSpacing.Trailing, config.TimestepSpacing);
        Assert.Equal(VarianceType.FixedSmallLog, config.VarianceType);
        Assert.True(config.SetAlphaToOne);
        Assert.True(config.Thresholding);
        Assert.Equal(1000, config.NumTrainTimesteps);
        Assert.Equal("sample", SchedulerConfig.Name(PredictionType.Sample));
        Assert.Equal("linspace", SchedulerConfig.Name(TimestepSpacing.Linspace));
        Assert.Equal("scaled_linear", SchedulerConfig.Name(BetaSchedule.ScaledLinear));
    }

    [Theory]
    [InlineData("beta_schedule", "\"sigmoid\"")]
    [InlineData("prediction_type", "\"flow\"")]
    [InlineData("timestep_spacing", "\"karras\"")]
    [InlineData("variance_type", "\"learned_range\"")]
    public void UnsupportedValuesNameTheField(string field, string value)
    {
        var e = Assert.Throws<NotSupportedException>(() => SchedulerConfig.FromJsonText($"{{\"{field}\": {value}}}", "cfg.json"));
        Assert.Contains(field, e.Message);
        Assert.Contains(value.Trim('"'), e.Message);
        Assert.Contains("cfg.json", e.Message);
    }

    [Theory]
    [InlineData("num_train_timesteps", "\"many\"")]
    [InlineData("num_train_timesteps", "10.5")]
    [InlineData("beta_start", "true")]
    [InlineData("clip_sample", "1")]
    [InlineData("trained_betas", "[0.1, \"x\"]")]
    public void WrongTypesNameTheField(string field, string value)
    {
        var e = Assert.Throws<FormatException>(() => SchedulerConfig.FromJsonText($"{{\"{field}\": {value}}}"));
        Assert.Contains(field, e.Message);
    }

    [Theory]
    [InlineData("{\"num_train_timesteps\": 0}", "num_train_timesteps")]
    [InlineData("{\"beta_start\": 0}", "beta_start")]
    [InlineData("{\"steps_offset\": -1}", "steps_offset")]
    [InlineData("{\"num_train_timesteps\": 3, \"trained_betas\": [0.1, 0.2]}", "trained_betas")]
    public void OutOfRangeValuesNameTheField(string json, string field)
    {
        var e = Assert.Throws<ArgumentException>(() => SchedulerConfig.FromJsonText(json));
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void MissingFileAndBadJsonAreClear()
    {
        Assert.Throws<FileNotFoundException>(() => SchedulerConfig.FromJson("/nonexistent/scheduler_config.json"));
        var e = Assert.Throws<FormatException>(() => SchedulerConfig.FromJsonText("{", "broken.json"));
        Assert.Contains("broken.json", e.Message);
    }
}
