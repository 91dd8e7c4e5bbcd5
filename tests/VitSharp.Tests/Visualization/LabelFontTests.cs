using SkiaSharp;
using VitSharp.Visualization;

namespace VitSharp.Tests.Visualization;

/// <summary>Text in pictures must not depend on the machine's fonts (servers and CI images often have none).</summary>
public class LabelFontTests
{
    [Fact]
    public void The_bundled_font_draws_visible_text()
    {
        Assert.True(LabelFont.Typeface.GlyphCount > 100);
        using var bitmap = new SKBitmap(120, 40);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            using var font = new SKFont(LabelFont.Typeface, 24);
            using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            canvas.DrawText("ViT 14", 4, 30, SKTextAlign.Left, font, paint);
        }
        int dark = 0;
        for (int y = 0; y < bitmap.Height; y++)
            for (int x = 0; x < bitmap.Width; x++)
                if (bitmap.GetPixel(x, y).Red < 128) dark++;
        Assert.InRange(dark, 100, 120 * 40 / 2);
    }
}

/// <summary>A title longer than a small sheet is set smaller rather than cut at the edges.</summary>
public class TileGridTitleTests
{
    [Fact]
    public void A_long_title_fits_inside_a_small_sheet()
    {
        // The 7x7 sheet of posembed show: 374 pixels wide, the title about 430 at the normal size.
        var grid = new TileGrid { Rows = 7, Columns = 7, TileWidth = 48, TileHeight = 48, Title = "position embedding cosine similarity, learned on 7x7, colours -0.78 to 1.00" };
        using var sheet = grid.Render((_, _) => new SkiaSharp.SKBitmap(1, 1));
        Assert.Equal((grid.Width, grid.Height), (sheet.Width, sheet.Height));
        bool Ink(int x) => Enumerable.Range(0, TileGrid.TitleHeight).Any(y => sheet.GetPixel(x, y).Red < 200);
        Assert.False(Ink(0));
        Assert.False(Ink(sheet.Width - 1));
        Assert.Contains(Enumerable.Range(0, sheet.Width), Ink);
    }
}
