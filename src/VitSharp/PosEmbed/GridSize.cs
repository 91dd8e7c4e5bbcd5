using System.Globalization;

namespace VitSharp.PosEmbed;

/// <summary>A height × width pair: a patch grid, or an image size in pixels. Height always comes first.</summary>
public readonly record struct GridSize(int Height, int Width)
{
    public int Count => checked(Height * Width);

    public bool IsSquare => Height == Width;

    public static GridSize Square(int side) => new(side, side);

    /// <summary>Parses <c>HxW</c> (e.g. <c>24x40</c>) or a single number for a square.</summary>
    public static GridSize Parse(string text)
    {
        var parts = text.Trim().ToLowerInvariant().Split('x');
        if (parts.Length is < 1 or > 2 || parts.Any(p => !int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v <= 0))
            throw new FormatException($"'{text}' is not a size: expected HxW (e.g. 224x320) or one positive number");
        int h = int.Parse(parts[0], CultureInfo.InvariantCulture);
        var size = new GridSize(h, parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : h);
        if (size.Height > SizeLimits.MaxSide || size.Width > SizeLimits.MaxSide)
            throw new FormatException($"'{text}' is not a size VitSharp can use: each side must be at most {SizeLimits.MaxSide:N0}");
        return size;
    }

    public override string ToString() => $"{Height}x{Width}";
}
