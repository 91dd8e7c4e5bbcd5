using SkiaSharp;

namespace VitSharp.Visualization;

/// <summary>
/// The typeface for labels, titles and plot text. SkiaSharp's Linux build without dependencies has no font manager
/// (its default typeface has no glyphs), and a server may have no fonts at all, so VitSharp ships DejaVu Sans
/// (Fonts/LICENSE_DEJAVU: free to use and redistribute) and uses it unless <c>VITSHARP_FONT</c> names another
/// TrueType file. Pictures therefore look the same on every machine.
/// </summary>
public static class LabelFont
{
    private const string BundledResource = "VitSharp.Visualization.Fonts.DejaVuSans.ttf";

    /// <summary>The name ScottPlot knows the typeface by (see <see cref="PlotFontResolver"/>).</summary>
    internal const string PlotFontName = "VitSharp Label";

    private static readonly Lazy<SKTypeface> Found = new(Load);

    /// <summary>The typeface: the file in <c>VITSHARP_FONT</c>, else the bundled DejaVu Sans.</summary>
    public static SKTypeface Typeface => Found.Value;

    private static SKTypeface Load()
    {
        if (Environment.GetEnvironmentVariable("VITSHARP_FONT") is { Length: > 0 } chosen)
        {
            var typeface = SKTypeface.FromFile(chosen);
            if (typeface is { GlyphCount: > 0 }) return typeface;
            typeface?.Dispose();
            throw new InvalidOperationException($"VITSHARP_FONT '{chosen}' is not a TrueType font SkiaSharp can read");
        }
        using Stream stream = typeof(LabelFont).Assembly.GetManifestResourceStream(BundledResource)
            ?? throw new InvalidOperationException($"the bundled font {BundledResource} is missing from the VitSharp assembly");
        using var data = SKData.Create(stream);
        return SKTypeface.FromData(data) ?? throw new InvalidOperationException("the bundled font cannot be read");
    }
}

/// <summary>Gives ScottPlot the <see cref="LabelFont"/> typeface, which it cannot find through the operating system.</summary>
internal sealed class PlotFontResolver : ScottPlot.IFontResolver
{
    public static readonly PlotFontResolver Instance = new();

    // ScottPlot disposes what it gets, so each call returns a fresh typeface read from the same bytes.
    public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
        fontName == LabelFont.PlotFontName ? SKTypeface.FromData(SKData.Create(LabelFont.Typeface.OpenStream())) : null;

    public SKTypeface? CreateTypeface(string fontName, ScottPlot.FontWeight weight, ScottPlot.FontSlant slant, ScottPlot.FontSpacing spacing) =>
        CreateTypeface(fontName, bold: false, italic: false);
}
