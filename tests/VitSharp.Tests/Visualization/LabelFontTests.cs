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
