using SkiaSharp;
using VitSharp.Visualization;

namespace VitSharp.Tests.Visualization;

public class ColormapTests
{
    [Fact]
    public void Endpoints_are_the_published_colours()
    {
        Assert.Equal(new SKColor(0x44, 0x01, 0x54), Colormap.Viridis.Map(0));
        Assert.Equal(new SKColor(0xFD, 0xE7, 0x25), Colormap.Viridis.Map(1));
        Assert.Equal(new SKColor(0x00, 0x00, 0x04), Colormap.Inferno.Map(0));
        Assert.Equal(new SKColor(0xFC, 0xFF, 0xA4), Colormap.Inferno.Map(1));
        Assert.Equal(SKColors.Black, Colormap.Gray.Map(0));
        Assert.Equal(SKColors.White, Colormap.Gray.Map(1));
    }

    [Fact]
    public void Out_of_range_and_nan_values_are_clamped()
    {
        Assert.Equal(Colormap.Viridis.Map(0), Colormap.Viridis.Map(-3));
        Assert.Equal(Colormap.Viridis.Map(0), Colormap.Viridis.Map(float.NaN));
        Assert.Equal(Colormap.Viridis.Map(1), Colormap.Viridis.Map(7));
    }

    [Fact]
    public void Between_anchors_the_colour_is_interpolated_and_gets_brighter()
    {
        Assert.Equal(new SKColor(128, 128, 128), Colormap.Gray.Map(0.5f));
        var luminance = Enumerable.Range(0, 11).Select(i => Colormap.Viridis.Map(i / 10f)).Select(c => 0.2126 * c.Red + 0.7152 * c.Green + 0.0722 * c.Blue).ToList();
        Assert.Equal(luminance.Order(), luminance);
    }

    [Fact]
    public void Maps_are_found_by_name()
    {
        Assert.Same(Colormap.Inferno, Colormap.FromName(" Inferno "));
        Assert.Throws<ArgumentException>(() => Colormap.FromName("jet"));
    }
}
