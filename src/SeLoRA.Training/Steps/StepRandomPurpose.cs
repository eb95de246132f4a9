namespace SeLoRA.Training.Steps;

/// <summary>What a per-sample random stream is for; the value is part of the stream's key, so never renumber.</summary>
public enum StepRandomPurpose
{
    Noise = 1,
    Timestep = 2,
    PromptDropout = 3,
    NoiseOffset = 4,
    AdapterDropout = 5,
}
