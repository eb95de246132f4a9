namespace SeLoRA.Evaluation.Reports;

/// <summary>Which way a metric improves; <see cref="Unknown"/> metrics get no "best" mark.</summary>
public enum MetricDirection
{
    Unknown,
    LowerIsBetter,
    HigherIsBetter,
}
