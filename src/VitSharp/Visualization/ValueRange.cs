namespace VitSharp.Visualization;

/// <summary>The values mapped to the two ends of a colour map; values outside are clamped.</summary>
public readonly record struct ValueRange(float Min, float Max)
{
    /// <summary>The smallest and largest finite values of <paramref name="values"/> (0..1 when there are none).</summary>
    public static ValueRange Of(float[,] values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in values)
        {
            if (!float.IsFinite(v)) continue;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        return min <= max ? new ValueRange(min, max) : new ValueRange(0, 1);
    }

    /// <summary>Where <paramref name="value"/> lies in the range, 0 to 1. A range of one value maps everything to 0.</summary>
    public float Normalize(float value) => Max > Min ? Math.Clamp((value - Min) / (Max - Min), 0, 1) : 0;
}
