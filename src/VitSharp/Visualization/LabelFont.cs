using SkiaSharp;

namespace VitSharp.Visualization;

/// <summary>
/// The typeface for labels, titles and plot text. SkiaSharp's Linux build without dependencies has no font manager
/// (its default typeface has no glyphs), so text would silently vanish; this looks for a TrueType file instead:
/// <c>VITSHARP_FONT</c> if set, else a common sans-serif in the usual font folders, else any .ttf there. When none
/// is found <see cref="Typeface"/> is null and pictures are drawn without text.
/// </summary>
public static class LabelFont
{
    private static readonly string[] Preferred = ["DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Lato-Regular.ttf", "NotoSans-Regular.ttf", "Arial.ttf", "arial.ttf", "Helvetica.ttc"];

    private static readonly Lazy<(SKTypeface? Typeface, string? File)> Found = new(Find);

    /// <summary>A typeface with glyphs, or null when this machine has none that SkiaSharp can use.</summary>
    public static SKTypeface? Typeface => Found.Value.Typeface;

    /// <summary>The font file behind <see cref="Typeface"/> when it came from a file (ScottPlot registers it by path).</summary>
    public static string? File => Found.Value.File;

    private static (SKTypeface?, string?) Find()
    {
        if (SKTypeface.Default.GlyphCount > 0) return (SKTypeface.Default, null);
        foreach (string path in Candidates())
        {
            var typeface = SKTypeface.FromFile(path);
            if (typeface is { GlyphCount: > 0 }) return (typeface, path);
            typeface?.Dispose();
        }
        return (null, null);
    }

    private static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("VITSHARP_FONT") is { Length: > 0 } chosen) yield return chosen;
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string[] folders =
        [
            "/usr/share/fonts", "/usr/local/share/fonts", Path.Combine(home, ".fonts"), Path.Combine(home, ".local/share/fonts"),
            "/System/Library/Fonts", "/Library/Fonts", Environment.GetFolderPath(Environment.SpecialFolder.Fonts),
        ];
        var files = folders.Where(f => f.Length > 0 && Directory.Exists(f))
            .SelectMany(f => SafeEnumerate(f))
            .ToList();
        foreach (string name in Preferred)
            foreach (string file in files.Where(f => Path.GetFileName(f) == name)) yield return file;
        foreach (string file in files.Where(f => f.EndsWith(".ttf", StringComparison.OrdinalIgnoreCase))) yield return file;
    }

    private static IEnumerable<string> SafeEnumerate(string folder)
    {
        try
        {
            return Directory.EnumerateFiles(folder, "*.tt?", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }).Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
