using SkiaSharp;

namespace VitSharp.Visualization;

/// <summary>
/// A rows × columns sheet of equal tiles on a white background, with a label left of every row, one above every
/// column and an optional title: the layout of the ViT paper's position-embedding similarity figure.
/// The size of the sheet follows from the properties alone (<see cref="Width"/>, <see cref="Height"/>).
/// </summary>
public sealed record TileGrid
{
    public required int Rows { get; init; }
    public required int Columns { get; init; }
    public required int TileWidth { get; init; }
    public required int TileHeight { get; init; }

    /// <summary>White space between neighbouring tiles, in pixels.</summary>
    public int Gap { get; init; } = 2;

    /// <summary>Room for the row labels (left) and the column labels (top), in pixels.</summary>
    public int LabelMargin { get; init; } = 24;

    /// <summary>A line of text above everything; null leaves no room for it.</summary>
    public string? Title { get; init; }

    /// <summary>Height of the title band when there is a title.</summary>
    public const int TitleHeight = 20;

    /// <summary>Text size of labels and title, in pixels.</summary>
    public const float FontSize = 11;

    public int Width => LabelMargin + Columns * (TileWidth + Gap);

    public int Height => (Title is null ? 0 : TitleHeight) + LabelMargin + Rows * (TileHeight + Gap);

    /// <summary>
    /// Draws the sheet: <paramref name="tileAt"/>(row, column) gives each tile, a new bitmap that is scaled to the
    /// tile size (nearest, so cells stay sharp) and disposed once drawn. Labels default to 1-based numbers, as in the paper.
    /// </summary>
    public SKBitmap Render(Func<int, int, SKBitmap> tileAt, IReadOnlyList<string>? rowLabels = null, IReadOnlyList<string>? columnLabels = null)
    {
        ArgumentNullException.ThrowIfNull(tileAt);
        if (Rows <= 0 || Columns <= 0 || TileWidth <= 0 || TileHeight <= 0) throw new ArgumentException($"a tile grid needs positive rows, columns and tile size, got {Rows}x{Columns} tiles of {TileWidth}x{TileHeight}");
        rowLabels ??= Numbers(Rows);
        columnLabels ??= Numbers(Columns);
        if (rowLabels.Count != Rows || columnLabels.Count != Columns) throw new ArgumentException($"{Rows} rows and {Columns} columns need as many labels, got {rowLabels.Count} and {columnLabels.Count}");

        var sheet = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using var canvas = new SKCanvas(sheet);
        canvas.Clear(SKColors.White);
        using var font = new SKFont(LabelFont.Typeface, FontSize);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var sharp = new SKPaint { IsAntialias = false };
        var nearest = new SKSamplingOptions(SKFilterMode.Nearest);

        int top = Title is null ? 0 : TitleHeight;
        if (Title is not null)
        {
            // The sheet's size follows from the tiles alone, so a title wider than a small grid is set smaller instead.
            using var titleFont = new SKFont(LabelFont.Typeface, FontSize);
            float width = titleFont.MeasureText(Title);
            if (width > Width - 8) titleFont.Size = Math.Max(5, FontSize * (Width - 8) / width);
            canvas.DrawText(Title, Width / 2f, TitleHeight - 5, SKTextAlign.Center, titleFont, ink);
        }
        for (int c = 0; c < Columns; c++)
            canvas.DrawText(columnLabels[c], LabelMargin + c * (TileWidth + Gap) + TileWidth / 2f, top + LabelMargin - 6, SKTextAlign.Center, font, ink);
        for (int r = 0; r < Rows; r++)
        {
            float y = top + LabelMargin + r * (TileHeight + Gap);
            canvas.DrawText(rowLabels[r], LabelMargin - 4, y + TileHeight / 2f + FontSize / 3, SKTextAlign.Right, font, ink);
            for (int c = 0; c < Columns; c++)
            {
                using var tile = tileAt(r, c);
                using var image = SKImage.FromBitmap(tile);
                var where = SKRect.Create(LabelMargin + c * (TileWidth + Gap), y, TileWidth, TileHeight);
                canvas.DrawImage(image, where, nearest, sharp);
            }
        }
        canvas.Flush();
        return sheet;
    }

    private static string[] Numbers(int count) => [.. Enumerable.Range(1, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}
