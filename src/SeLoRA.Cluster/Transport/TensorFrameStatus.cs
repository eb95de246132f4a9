namespace SeLoRA.Cluster.Transport;

/// <summary>The receiver's one-byte answers: after a header (Accepted or a refusal) and after the payload (Completed or a refusal).</summary>
public enum TensorFrameStatus : byte
{
    Accepted = 1,
    Completed = 2,
    DuplicateTransfer = 3,
    TooLarge = 4,
    ChecksumMismatch = 5,
    BadHeader = 6,
}
