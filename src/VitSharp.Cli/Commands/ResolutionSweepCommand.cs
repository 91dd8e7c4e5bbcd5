using System.CommandLine;
using System.Globalization;
using System.Text;
using Spectre.Console;
using VitSharp.Checkpoints;
using VitSharp.PosEmbed;
using VitSharp.Visualization;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp resolution-sweep</c>: top-1 accuracy (or agreement with the native-size prediction) of a classifier
/// over input sizes and position-embedding semantics, as a table, <c>P.csv</c> and a line plot <c>P.png</c>.
/// </summary>
internal static class ResolutionSweepCommand
{
    private const string DefaultStyles = "timm,timm_flexi,dino,torchvision,hf,naive";

    public static Command Create(TextWriter output)
    {
        var weights = ShippedModel.WeightsOption("a classifier checkpoint (any format 'vitsharp forward' reads)");
        var data = new Option<string>("--data") { Description = "a folder of images, searched recursively; one subfolder per class (named as the model's labels) gives accuracy", Required = true };
        var sizes = new Option<string[]>("--sizes") { Description = "input sizes, N or HxW, multiples of the patch (default: 0.5, 0.75, 1, 1.25, 1.5 times the native size)", AllowMultipleArgumentsPerToken = true };
        var styles = new Option<string>("--styles") { Description = $"comma-separated position-embedding semantics; 'naive' is the seed's pos_embed[:, :T] slicing (default: {DefaultStyles})", DefaultValueFactory = _ => DefaultStyles };
        var preset = new Option<string>("--preset") { Description = "resize (stretch to each size) or native (aspect kept, each size's token count as the budget); also timm, dino, torchvision (centre crop)", DefaultValueFactory = _ => "resize" };
        var outPrefix = new Option<string>("--out-prefix") { Description = "writes PREFIX.csv and PREFIX.png (atomically)", Required = true };
        var checkpoint = new CheckpointOptions();

        var command = new Command("resolution-sweep", "Measure top-1 accuracy or agreement of a classifier across input sizes and position-embedding semantics.")
        {
            weights, data, sizes, styles, preset, outPrefix,
        };
        checkpoint.AddTo(command);
        command.SetAction(r =>
        {
            CliApp.RequireTorch();
            string prefix = r.GetValue(outPrefix)!;
            CliInputs.RequireOutputFolder(prefix + ".csv");
            var chosenStyles = r.GetValue(styles)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(SweepStyle.Parse).DistinctBy(s => s.Name).ToList();
            if (chosenStyles.Count == 0) throw new ArgumentException("--styles names no semantics");
            string how = r.GetValue(preset)!;

            using var loaded = CheckpointLoader.Load(ShippedModel.WeightsOrShipped(r.GetValue(weights)), checkpoint.Read(r));
            var model = loaded.Model;
            model.PackLinearWeights(); // the weights stay as loaded: pack them once for oneDNN (float32, or bf16 with its instructions, on x86-64; a no-op elsewhere)
            var config = model.Config;
            if (config.NumClasses == 0) throw new ArgumentException("the model has no classification head; a resolution sweep compares top-1 predictions");
            var chosenSizes = r.GetValue(sizes) is { Length: > 0 } given ? given.Select(GridSize.Parse).ToList() : DefaultSizes(config.ImgSize, config.PatchSize);
            foreach (var size in chosenSizes)
                if (size.Height % config.PatchSize != 0 || size.Width % config.PatchSize != 0 || size.Height < config.PatchSize || size.Width < config.PatchSize)
                    throw new ArgumentException($"size {size} is not a multiple of the patch size {config.PatchSize}");
            if (how != "native") Imaging.ImagePreprocessing.ForModel(how, config); // refuses an unknown preset before any image is read

            var images = SweepImages.Find(r.GetValue(data)!, loaded.Summary.Labels);
            string metric = images.Classes is null ? "agreement" : "accuracy";
            output.WriteLine(images.Classes is null
                ? $"{images.Files.Count} images; {metric} with the top-1 prediction at the native size {config.ImgSize} ({images.Why})"
                : $"{images.Files.Count} images; top-1 {metric} ({images.Why})");

            var sweep = new ResolutionSweep(model, how);
            var cells = sweep.Run(images, chosenSizes, chosenStyles);

            WriteTable(output, cells, chosenSizes, chosenStyles, metric, how);
            string csv = Csv(cells, metric);
            // The x axis is the token count, so each line visits the sizes in that order (a non-square size given last,
            // such as 28x56 after 112x112, would otherwise draw a line back across the chart).
            var byTokens = chosenSizes.OrderBy(sweep.Tokens).ToList();
            var series = chosenStyles.Select(style => new ChartSeries(style.Name,
                [.. byTokens.Select(size => (double)sweep.Tokens(size))],
                [.. byTokens.Select(size => cells.First(c => c.Size == size && c.Style == style.Name).Rate is { } rate ? 100 * rate : double.NaN)])).ToList();
            byte[] plot = LineChart.Render(series, $"top-1 {metric} across input sizes ({images.Files.Count} images, {how} preprocessing)",
                how == "native" ? "token budget (patches)" : "patches per image", $"{metric} (%)", yLimits: (0, 105));

            // Both files are ready before either is written.
            OutputFile.WriteText(prefix + ".csv", csv);
            OutputFile.WriteBytes(prefix + ".png", plot);
            output.WriteLine($"wrote {Path.GetFullPath(prefix + ".csv")} and {Path.GetFullPath(prefix + ".png")}");
            return 0;
        });
        return command;
    }

    /// <summary>The native size scaled by 0.5 to 1.5, rounded to whole patches (at least one).</summary>
    private static List<GridSize> DefaultSizes(GridSize native, int patch)
    {
        int Round(double pixels) => Math.Max(1, (int)Math.Round(pixels / patch)) * patch;
        return [.. new[] { 0.5, 0.75, 1.0, 1.25, 1.5 }.Select(f => new GridSize(Round(native.Height * f), Round(native.Width * f))).Distinct()];
    }

    private static void WriteTable(TextWriter output, IReadOnlyList<SweepCell> cells, IReadOnlyList<GridSize> sizes, IReadOnlyList<SweepStyle> styles, string metric, string preset)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No });
        console.Profile.Width = Math.Max(80, 24 + 12 * styles.Count);
        var table = new Table { Title = new TableTitle($"top-1 {metric} (%), {preset} preprocessing") };
        table.AddColumn("size");
        table.AddColumn(new TableColumn("tokens").RightAligned());
        foreach (var style in styles) table.AddColumn(new TableColumn(Markup.Escape(style.Name)).RightAligned());
        foreach (var size in sizes)
        {
            var row = new List<string> { size.ToString(), cells.First(c => c.Size == size).Tokens.ToString(CultureInfo.InvariantCulture) };
            row.AddRange(styles.Select(style => cells.First(c => c.Size == size && c.Style == style.Name).Rate is { } rate
                ? (100 * rate).ToString("0.0", CultureInfo.InvariantCulture)
                : "n/a"));
            table.AddRow([.. row.Select(Markup.Escape)]);
        }
        console.Write(table);
        foreach (var refused in cells.Where(c => c.NotRun is not null).DistinctBy(c => (c.Size, c.Style)))
            output.WriteLine($"n/a: {refused.Style} at {refused.Size}: {refused.NotRun}");
    }

    private static string Csv(IReadOnlyList<SweepCell> cells, string metric)
    {
        var csv = new StringBuilder("size,height,width,tokens,style,metric,hits,total,value,note\n");
        foreach (var c in cells)
        {
            string value = c.Rate is { } rate ? rate.ToString("0.######", CultureInfo.InvariantCulture) : "";
            string hits = c.NotRun is null ? c.Hits.ToString(CultureInfo.InvariantCulture) : "";
            csv.Append(CultureInfo.InvariantCulture, $"{c.Size},{c.Size.Height},{c.Size.Width},{c.Tokens},{c.Style},{metric},{hits},{c.Total},{value},{Quote(c.NotRun ?? "")}\n");
        }
        return csv.ToString();
    }

    private static string Quote(string text) => text.Length == 0 ? text : $"\"{text.Replace("\"", "\"\"")}\"";
}
