using SkiaSharp;

namespace VitSharp.Visualization;

/// <summary>
/// A perceptual colour scale from 0 to 1: evenly spaced anchor colours with linear interpolation between them.
/// The anchors of <see cref="Viridis"/> and <see cref="Inferno"/> are the published evenly spaced samples of those
/// matplotlib maps, enough to reproduce their look without carrying the 256-entry tables.
/// </summary>
public sealed class Colormap
{
    private readonly SKColor[] anchors;

    private Colormap(string name, params uint[] rgb)
    {
        Name = name;
        anchors = [.. rgb.Select(c => new SKColor((byte)(c >> 16), (byte)(c >> 8), (byte)c))];
    }

    /// <summary>The name <see cref="FromName"/> accepts.</summary>
    public string Name { get; }

    /// <summary>Dark purple through teal to yellow: the default, readable in grey and by colour-blind viewers.</summary>
    public static Colormap Viridis { get; } = new("viridis",
        0x440154, 0x472D7B, 0x3B528B, 0x2C728E, 0x21908C, 0x27AD81, 0x5DC863, 0xAADC32, 0xFDE725);

    /// <summary>Black through purple and orange to pale yellow: strong contrast for sparse maps such as attention.</summary>
    public static Colormap Inferno { get; } = new("inferno",
        0x000004, 0x1B0C42, 0x4B0C6B, 0x781C6D, 0xA52C60, 0xCF4446, 0xED6925, 0xFB9A06, 0xF7D03C, 0xFCFFA4);

    /// <summary>Black to white.</summary>
    public static Colormap Gray { get; } = new("gray", 0x000000, 0xFFFFFF);

    public static IReadOnlyList<Colormap> All { get; } = [Viridis, Inferno, Gray];

    /// <summary>A colour map by name (viridis, inferno, gray), case-insensitive.</summary>
    public static Colormap FromName(string name) =>
        All.FirstOrDefault(m => string.Equals(m.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown colour map '{name}'; expected one of {string.Join(", ", All.Select(m => m.Name))}");

    /// <summary>The colour of <paramref name="t"/>, clamped to [0, 1]; NaN maps to the low end.</summary>
    public SKColor Map(float t)
    {
        if (!(t > 0)) return anchors[0];
        if (t >= 1) return anchors[^1];
        float position = t * (anchors.Length - 1);
        int low = (int)position;
        float f = position - low;
        SKColor a = anchors[low], b = anchors[low + 1];
        return new SKColor(Mix(a.Red, b.Red, f), Mix(a.Green, b.Green, f), Mix(a.Blue, b.Blue, f));
    }

    private static byte Mix(byte a, byte b, float f) => (byte)MathF.Round(a + (b - a) * f);

    public override string ToString() => Name;
}
