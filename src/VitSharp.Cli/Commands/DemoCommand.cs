using System.CommandLine;
using System.Globalization;
using System.Text;
using VitSharp.Checkpoints;
using VitSharp.PosEmbed;
using VitSharp.Training;
using VitSharp.Training.Data;
using VitSharp.Visualization;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp demo</c>: the README's main job. The Fashion-MNIST ViT that VitSharp trained (28x28, a 7x7 grid) classifies
/// test images at its training size, at larger and non-square sizes with its position table resampled by each
/// family's semantics, and, for contrast, with the seed tutorial's naive slicing (the first rows of the table); it
/// prints the accuracy table and writes the position-embedding and attention pictures. Offline: the data is Debian's
/// dataset-fashion-mnist, or the bundled 1000-image sample where that is not installed.
/// </summary>
internal static class DemoCommand
{
    /// <summary>One size and style of the table: its evaluation, or why the naive slicing could not run there.</summary>
    private sealed record DemoCell(EvalResult? Result, string? NotRun);

    private static readonly string[] DefaultSizes = ["28", "56", "28x56", "56x28", "20x28", "20"];
    private const string DefaultStyles = "timm,dino,dinov2,hf,torchvision,naive";

    public static Command Create(TextWriter output)
    {
        var weights = new Option<string?>("--weights") { Description = $"a classifier checkpoint (default: the shipped {ShippedModel.Name}, trained by VitSharp on Fashion-MNIST)" };
        var dataset = new Option<string>("--dataset") { Description = TrainingData.SpecHelp, DefaultValueFactory = _ => "fashion-mnist" };
        var limit = new Option<int>("--limit") { Description = "test images to classify at every size and style", DefaultValueFactory = _ => 2000 };
        var sizes = new Option<string[]>("--sizes") { Description = "image sizes HxW or N, multiples of the patch", DefaultValueFactory = _ => DefaultSizes, AllowMultipleArgumentsPerToken = true };
        var styles = new Option<string>("--styles") { Description = "comma-separated position-embedding semantics (presets of 'vitsharp posembed resample', and naive)", DefaultValueFactory = _ => DefaultStyles };
        var outDir = new Option<string>("--out") { Description = "folder for accuracy.csv and the pictures (created if missing)", DefaultValueFactory = _ => "demo-output" };
        var pictures = new Option<bool>("--no-pictures") { Description = "print the table only" };

        var command = new Command("demo", "Classify Fashion-MNIST at its training size and at other sizes with each position-embedding semantics; write the pictures.")
        {
            weights, dataset, limit, sizes, styles, outDir, pictures,
        };
        command.SetAction(r =>
        {
            CliApp.RequireTorch();
            string weightsPath = r.GetValue(weights) ?? ShippedModel.RequireWeights();
            var sizeList = r.GetValue(sizes)!.Select(GridSize.Parse).ToList();
            var styleList = r.GetValue(styles)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(SweepStyle.Parse).ToList();
            if (sizeList.Count == 0 || styleList.Count == 0) throw new ArgumentException("give at least one --sizes and one --styles entry");
            string folder = r.GetValue(outDir)!;
            Directory.CreateDirectory(folder);

            using var loaded = CheckpointLoader.Load(weightsPath);
            var model = loaded.Model;
            var config = model.Config;
            foreach (var size in sizeList.Where(s => s.Height % config.PatchSize != 0 || s.Width % config.PatchSize != 0))
                throw new ArgumentException($"size {size} is not a multiple of the model's patch size {config.PatchSize}");
            var (data, mean, std, note) = TrainingData.Open(r.GetValue(dataset)!, "test", (config.ImgSize.Height, config.ImgSize.Width), r.GetValue(limit));
            if (data.Channels != config.InChans)
                throw new ArgumentException($"the model takes {config.InChans}-channel images, the dataset has {data.Channels} channels");

            output.WriteLine($"model: {Shorter(weightsPath)}{(r.GetValue(weights) is null ? $" (the shipped {ShippedModel.Name}, trained by VitSharp on Fashion-MNIST)" : "")}");
            output.WriteLine($"  trained at {config.ImgSize} (patch {config.PatchSize}, {config.GridSize} grid + class token), width {config.EmbedDim}, depth {config.Depth}, " +
                $"{model.parameters().Sum(p => p.numel()):N0} parameters, default semantics {model.PosEmbedResampling.Name}");
            output.WriteLine($"data: {((data as DatasetSubset)?.Inner ?? data) switch { ImageDataset d => d.Source, _ => r.GetValue(dataset) }}, test split, {data.Count} images{(note is null ? "" : $" ({note})")}");
            output.WriteLine();

            var cells = Evaluate(model, data, mean, std, sizeList, styleList);
            WriteTable(output, model, sizeList, styleList, cells);
            WriteCsv(Path.Combine(folder, "accuracy.csv"), sizeList, styleList, cells);
            output.WriteLine($"table -> {Path.GetFullPath(Path.Combine(folder, "accuracy.csv"))}");

            // The picture commands default to the shipped model too, so they are printed without --weights then.
            string[] weightsArgs = r.GetValue(weights) is null ? [] : ["--weights", weightsPath];
            if (!r.GetValue(pictures)) DrawPictures(output, weightsArgs, model, data, folder);
            return 0;
        });
        return command;
    }

    /// <summary>Top-1 accuracy of every size with every style; null where the naive slicing cannot run (more patches than table rows).</summary>
    private static Dictionary<(int Size, int Style), DemoCell> Evaluate(
        Models.VisionTransformer model, IImageDataset data, float[] mean, float[] std, List<GridSize> sizes, List<SweepStyle> styles)
    {
        var cells = new Dictionary<(int Size, int Style), DemoCell>();
        var original = model.PosEmbedResampling;
        using var naive = new NaivePosEmbedModels(model);
        try
        {
            for (int s = 0; s < sizes.Count; s++)
            {
                var loader = new DataLoader(data, 250, shuffle: false, seed: 0,
                    new AugmentOptions { OutputSize = (sizes[s].Height, sizes[s].Width), Mean = mean, Std = std }, workers: 1);
                var grid = model.PatchEmbed.GridFor(sizes[s]);
                for (int k = 0; k < styles.Count; k++)
                {
                    if (styles[k].Resampling is { } how)
                    {
                        model.PosEmbedResampling = how;
                        cells[(s, k)] = new(Evaluator.Evaluate(model, loader), null);
                    }
                    else
                    {
                        cells[(s, k)] = naive.Refusal(grid) is { } why ? new(null, why) : new(Evaluator.Evaluate(naive.For(grid), loader), null);
                    }
                }
            }
        }
        finally
        {
            model.PosEmbedResampling = original;
        }
        return cells;
    }

    private static void WriteTable(TextWriter output, Models.VisionTransformer model, List<GridSize> sizes, List<SweepStyle> styles,
        Dictionary<(int Size, int Style), DemoCell> cells)
    {
        output.WriteLine("top-1 accuracy (%) on the test images; position table resampled to each grid by each family's semantics, or sliced (naive)");
        var header = new StringBuilder($"{"size",-8} {"grid",-6} {"tokens",6}");
        foreach (var style in styles) header.Append(CultureInfo.InvariantCulture, $" {style.Name,11}");
        output.WriteLine(header);
        var refusals = new SortedSet<string>(StringComparer.Ordinal);
        for (int s = 0; s < sizes.Count; s++)
        {
            var grid = model.PatchEmbed.GridFor(sizes[s]);
            string marker = grid == model.Config.GridSize ? " (trained)" : "";
            var line = new StringBuilder($"{sizes[s],-8} {grid,-6} {grid.Count + model.NumPrefixTokens,6}");
            for (int k = 0; k < styles.Count; k++)
            {
                var (result, notRun) = cells[(s, k)];
                line.Append(CultureInfo.InvariantCulture, $" {(result is null ? "-" : $"{100 * result.Accuracy:F2}"),11}");
                if (notRun is not null) refusals.Add($"{styles[k].Name} at {sizes[s]}: {notRun}");
            }
            output.WriteLine(line + marker);
        }
        foreach (var why in refusals) output.WriteLine($"  - {why} (the seed's slicing cannot grow the table)");
        output.WriteLine();
    }

    private static void WriteCsv(string path, List<GridSize> sizes, List<SweepStyle> styles, Dictionary<(int Size, int Style), DemoCell> cells)
    {
        var csv = new StringBuilder("size,style,accuracy,count,images_per_s,not_run\n");
        for (int s = 0; s < sizes.Count; s++)
            for (int k = 0; k < styles.Count; k++)
            {
                var (result, notRun) = cells[(s, k)];
                csv.Append(CultureInfo.InvariantCulture,
                    $"{sizes[s]},{styles[k].Name},{result?.Accuracy.ToString("R", CultureInfo.InvariantCulture)},{result?.Count},{result?.ImagesPerSecond.ToString("F0", CultureInfo.InvariantCulture)},\"{notRun}\"\n");
            }
        OutputFile.WriteText(path, csv.ToString());
    }

    /// <summary>
    /// The pictures, made by the same commands a user runs (printed as they run): the learned position-embedding
    /// similarity on the trained grid and resampled to 2x and to a non-square grid, and the class token's attention on
    /// four test images at 4x the trained size.
    /// </summary>
    private static void DrawPictures(TextWriter output, string[] weightsArgs, Models.VisionTransformer model, IImageDataset data, string folder)
    {
        var grid = model.Config.GridSize;
        List<string[]> runs =
        [
            ["posembed", "show", .. weightsArgs, "--out", Path.Combine(folder, $"posembed-{grid}.png")],
            ["posembed", "show", .. weightsArgs, "--grid", $"{2 * grid.Height}x{2 * grid.Width}", "--out", Path.Combine(folder, $"posembed-resampled-{2 * grid.Height}x{2 * grid.Width}.png")],
            ["posembed", "show", .. weightsArgs, "--grid", $"{grid.Height}x{3 * grid.Width}", "--out", Path.Combine(folder, $"posembed-resampled-{grid.Height}x{3 * grid.Width}.png")],
        ];
        string big = $"{4 * model.Config.ImgSize.Height}x{4 * model.Config.ImgSize.Width}";
        foreach (int index in FirstOfEachClass(data, 4))
        {
            string image = Path.Combine(folder, "images", $"test-{index:D5}.png");
            Directory.CreateDirectory(Path.GetDirectoryName(image)!);
            using (var scope = NewDisposeScope())
            using (var picture = InputPicture.FromNormalized(data.Get(index).Image, [.. Enumerable.Repeat(0f, data.Channels)], [.. Enumerable.Repeat(1f, data.Channels)]))
                OutputFile.WritePng(picture, image);
            runs.Add(["attention", image, .. weightsArgs, "--preset", "resize", "--img-size", big, "--threshold", "0.6",
                "--out", Path.Combine(folder, $"attention-{index:D5}")]);
        }

        output.WriteLine("pictures, made by these commands:");
        foreach (var args in runs)
        {
            output.WriteLine($"  vitsharp {string.Join(' ', args.Select(Shorter).Select(Quote))}");
            var quiet = new StringWriter();
            var errors = new StringWriter();
            if (CliApp.Run(args, quiet, errors) != 0) throw new InvalidOperationException($"'{args[0]}' failed: {errors.ToString().Trim()}");
        }
        output.WriteLine($"pictures -> {Path.GetFullPath(folder)}");
    }

    /// <summary>The indices of the first test image of the first <paramref name="count"/> classes met.</summary>
    private static IEnumerable<int> FirstOfEachClass(IImageDataset data, int count)
    {
        var seen = new HashSet<int>();
        for (int i = 0; i < data.Count && seen.Count < count; i++)
        {
            using var scope = NewDisposeScope();
            if (seen.Add(data.Get(i).Label)) yield return i;
        }
    }

    private static string Quote(string arg) => arg.Contains(' ') ? $"'{arg}'" : arg;

    /// <summary>An absolute path as relative to the current folder when that is shorter, to keep the printed commands readable.</summary>
    private static string Shorter(string arg)
    {
        if (!Path.IsPathRooted(arg)) return arg;
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, arg);
        return relative.Length < arg.Length ? relative : arg;
    }
}
