using ScottPlot;

namespace VitSharp.Visualization;

/// <summary>One named line of a <see cref="LineChart"/>: y over x; NaN values are gaps (points with no result).</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>A line plot with a legend (ScottPlot), written as PNG.</summary>
public static class LineChart
{
    /// <summary>Renders the series and writes the PNG atomically to <paramref name="path"/>.</summary>
    public static void Save(string path, IReadOnlyList<ChartSeries> series, string title, string xLabel, string yLabel,
        int width = 800, int height = 500, (double Min, double Max)? yLimits = null)
    {
        OutputFile.WriteBytes(path, Render(series, title, xLabel, yLabel, width, height, yLimits));
    }

    /// <summary>The plot as PNG bytes.</summary>
    public static byte[] Render(IReadOnlyList<ChartSeries> series, string title, string xLabel, string yLabel,
        int width = 800, int height = 500, (double Min, double Max)? yLimits = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        using var plot = new Plot();
        // ScottPlot finds fonts by name through its own resolvers; give it the typeface SkiaSharp could not find.
        if (!Fonts.FontResolvers.Contains(PlotFontResolver.Instance)) Fonts.FontResolvers.Add(PlotFontResolver.Instance);
        plot.Font.Set(LabelFont.PlotFontName);
        foreach (var line in series)
        {
            if (line.X.Count != line.Y.Count) throw new ArgumentException($"series '{line.Name}' has {line.X.Count} x values and {line.Y.Count} y values");
            // Points without a result are left out rather than drawn: ScottPlot would stretch the axes to NaN.
            var points = line.X.Zip(line.Y).Where(p => double.IsFinite(p.First) && double.IsFinite(p.Second)).ToArray();
            if (points.Length == 0) continue;
            var scatter = plot.Add.Scatter(points.Select(p => p.First).ToArray(), points.Select(p => p.Second).ToArray());
            scatter.LegendText = line.Name;
            scatter.MarkerSize = 6;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend();
        if (yLimits is { } y) plot.Axes.SetLimitsY(y.Min, y.Max);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }
}
