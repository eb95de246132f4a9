namespace SeLoRA.Cluster.Transport;

/// <summary>The receiver's one-byte answer after each frame: Completed (count and checksum verified) or why it was refused.</summary>
public enum TensorFrameStatus : byte
{
    Completed = 2,
    DuplicateTransfer = 3,
    TooLarge = 4,
    ChecksumMismatch = 5,
    BadHeader = 6,
}
