using static TorchSharp.torch;

namespace SeLoRA.Diffusion.Schedulers;

/// <summary>
/// A sampler for the denoising loop, so the pipeline can switch schedulers by name:
/// <code>
/// scheduler.SetTimesteps(50);
/// x = noise * scheduler.InitNoiseSigma;
/// foreach (var t in scheduler.Timesteps)
///     x = scheduler.Step(unet(scheduler.ScaleModelInput(x, t), t, text), t, x);
/// </code>
/// Stateful schedulers keep history between steps; <see cref="SetTimesteps"/> resets it.
/// </summary>
public interface IInferenceScheduler : IDisposable
{
    /// <summary>The name <see cref="InferenceSchedulers.Create(string, SchedulerConfig)"/> knows it by.</summary>
    string Name { get; }

    /// <summary>The config it was built from.</summary>
    SchedulerConfig Config { get; }

    /// <summary>Betas and alpha-bars.</summary>
    NoiseSchedule Schedule { get; }

    /// <summary>Steps requested by the last <see cref="SetTimesteps"/>; 0 before it.</summary>
    int NumInferenceSteps { get; }

    /// <summary>The timesteps to run, in order (a copy; empty before <see cref="SetTimesteps"/>).</summary>
    long[] Timesteps { get; }

    /// <summary>Standard deviation to scale the initial Gaussian noise by.</summary>
    double InitNoiseSigma { get; }

    /// <summary>Chooses the timesteps for this many model evaluations and resets any state from earlier runs.</summary>
    void SetTimesteps(int numInferenceSteps);

    /// <summary>The model input for this timestep (identity for PNDM and DDIM; always a new handle).</summary>
    Tensor ScaleModelInput(Tensor sample, long timestep);

    /// <summary>One reverse step: the sample at the next (smaller) timestep, as a new tensor.</summary>
    Tensor Step(Tensor modelOutput, long timestep, Tensor sample);
}
