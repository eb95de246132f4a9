namespace SeLoRA.Training.Steps;

/// <summary>Flat float32 gradient buffers: summed element by element, buffers taken in list order (a fixed order).</summary>
public static class GradientBuffer
{
    public static float[] Sum(IReadOnlyList<float[]> buffers)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        if (buffers.Count == 0) throw new ArgumentException("Nothing to sum.", nameof(buffers));
        var total = (float[])buffers[0].Clone();
        for (var k = 1; k < buffers.Count; k++) AddInPlace(total, buffers[k]);
        return total;
    }

    /// <summary>total += buffer, element by element.</summary>
    public static void AddInPlace(float[] total, float[] buffer)
    {
        ArgumentNullException.ThrowIfNull(total);
        ArgumentNullException.ThrowIfNull(buffer);
        if (buffer.Length != total.Length)
            throw new ArgumentException($"Gradient buffers differ in length: {total.Length} and {buffer.Length} (parameter layouts disagree).");
        for (var i = 0; i < total.Length; i++) total[i] += buffer[i];
    }
}
