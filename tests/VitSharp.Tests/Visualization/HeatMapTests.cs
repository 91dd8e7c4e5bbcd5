using SkiaSharp;
using VitSharp.Visualization;
using static TorchSharp.torch;

namespace VitSharp.Tests.Visualization;

public class HeatMapTests
{
    private static readonly float[,] Values = { { 0, 1 }, { 2, 3 } };

    [Fact]
    public void Nearest_upscaling_fills_each_cell_with_its_colour()
    {
        using var bitmap = HeatMap.Render(Values, 4, 6, Colormap.Gray);
        Assert.Equal((4, 6), (bitmap.Width, bitmap.Height));
        Assert.Equal(SKColors.Black, bitmap.GetPixel(0, 0));
        Assert.Equal(SKColors.Black, bitmap.GetPixel(1, 2));
        Assert.Equal(Colormap.Gray.Map(1 / 3f), bitmap.GetPixel(2, 0));
        Assert.Equal(Colormap.Gray.Map(2 / 3f), bitmap.GetPixel(0, 3));
        Assert.Equal(SKColors.White, bitmap.GetPixel(3, 5));
    }

    [Fact]
    public void A_fixed_range_is_used_as_given()
    {
        using var bitmap = HeatMap.Render(Values, 2, 2, Colormap.Gray, range: new ValueRange(0, 6));
        Assert.Equal(Colormap.Gray.Map(0.5f), bitmap.GetPixel(1, 1));
    }

    [Fact]
    public void Bilinear_upscaling_is_smooth_and_keeps_the_corners()
    {
        using var bitmap = HeatMap.Render(Values, 8, 8, Colormap.Gray, HeatMapUpscaling.Bilinear);
        Assert.Equal(SKColors.Black, bitmap.GetPixel(0, 0));
        Assert.Equal(SKColors.White, bitmap.GetPixel(7, 7));
        var row = Enumerable.Range(0, 8).Select(x => bitmap.GetPixel(x, 4).Red).ToList();
        Assert.Equal(row.Order(), row);
        Assert.True(row.Distinct().Count() > 2, "bilinear upscaling gives intermediate values");
    }

    [Fact]
    public void Tensors_become_arrays_row_first()
    {
        using var t = arange(6, dtype: ScalarType.Float64).reshape(2, 3);
        var values = HeatMap.ToArray(t);
        Assert.Equal(5f, values[1, 2]);
        Assert.Equal(3f, values[1, 0]);
        using var threeD = zeros(1, 2, 2);
        Assert.Throws<ArgumentException>(() => HeatMap.ToArray(threeD));
    }

    [Fact]
    public void Overlay_mixes_by_alpha_and_only_where_the_mask_says()
    {
        using var black = HeatMap.Render(new float[,] { { 0 } }, 4, 4, Colormap.Gray, range: new ValueRange(0, 1));
        using var white = HeatMap.Render(new float[,] { { 1 } }, 4, 4, Colormap.Gray, range: new ValueRange(0, 1));
        using var half = Overlay.Blend(black, white, 0.5f);
        Assert.Equal(new SKColor(128, 128, 128), half.GetPixel(2, 2));
        using var masked = Overlay.Blend(black, white, 1, new bool[,] { { true, false }, { false, false } });
        Assert.Equal(SKColors.White, masked.GetPixel(1, 1));
        Assert.Equal(SKColors.Black, masked.GetPixel(2, 1));
        using var small = HeatMap.Render(new float[,] { { 1 } }, 2, 2);
        Assert.Throws<ArgumentException>(() => Overlay.Blend(black, small, 0.5f));
    }

    [Fact]
    public void A_tile_grid_has_the_size_its_layout_states()
    {
        var layout = new TileGrid { Rows = 3, Columns = 5, TileWidth = 10, TileHeight = 6, Title = "t" };
        using var sheet = layout.Render((r, c) => HeatMap.Render(new float[,] { { r + c } }, 1, 1));
        Assert.Equal((24 + 5 * 12, TileGrid.TitleHeight + 24 + 3 * 8), (sheet.Width, sheet.Height));
        Assert.Equal((layout.Width, layout.Height), (sheet.Width, sheet.Height));
    }

    [Fact]
    public void Png_files_are_written_whole_and_leave_no_temporary_file()
    {
        string folder = Directory.CreateTempSubdirectory("vitsharp-png-").FullName;
        try
        {
            using var bitmap = HeatMap.Render(Values, 5, 3);
            string path = Path.Combine(folder, "map.png");
            OutputFile.WritePng(bitmap, path);
            using var back = SKBitmap.Decode(path);
            Assert.Equal((5, 3), (back.Width, back.Height));
            Assert.Equal(bitmap.GetPixel(4, 2), back.GetPixel(4, 2));
            Assert.Equal(["map.png"], Directory.GetFiles(folder).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_line_chart_renders_with_gaps_for_missing_points()
    {
        var png = LineChart.Render([new ChartSeries("a", [1, 2, 3], [10, double.NaN, 30]), new ChartSeries("empty", [1], [double.NaN])], "t", "x", "y", 320, 200);
        using var bitmap = SKBitmap.Decode(png);
        Assert.Equal((320, 200), (bitmap.Width, bitmap.Height));
    }
}
