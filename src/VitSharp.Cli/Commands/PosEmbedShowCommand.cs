using System.CommandLine;
using VitSharp.Checkpoints;
using VitSharp.Models;
using VitSharp.PosEmbed;
using VitSharp.Visualization;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp posembed show</c>: the ViT paper's position-embedding similarity figure (Dosovitskiy et al. 2020,
/// Fig. 7 centre). Tile (row, column) shows the cosine similarity of that patch position's embedding with every
/// position's, on one colour scale shared by all tiles: the paper's -1 to 1 with <c>--range fixed</c>, or by default the
/// smallest to largest similarity in the table, since tables whose similarities are all high (fixed sin-cos ones,
/// for instance) look uniform on -1..1. With <c>--grid</c> the table is resampled first, to show what a
/// resampling style does to the learned layout.
/// </summary>
internal static class PosEmbedShowCommand
{
    /// <summary>Adds <c>show</c> to the <c>posembed</c> command (built in <see cref="PosEmbedCommand"/>).</summary>
    public static Command AddTo(Command posembed, TextWriter output)
    {
        posembed.Subcommands.Add(Create(output));
        return posembed;
    }

    private static Command Create(TextWriter output)
    {
        var weights = ShippedModel.WeightsOption("a checkpoint whose pos_embed to show");
        var input = new Option<string?>("--in") { Description = "instead of --weights: a safetensors file holding a bare table [1, prefix + h*w, D] (key: --key, default pos_embed)" };
        var from = new Option<string?>("--from") { Description = "with --in: the table's grid HxW (default: the square grid it implies)" };
        var prefix = new Option<int>("--prefix-tokens") { Description = "with --in: leading class/register rows that are not on the grid", DefaultValueFactory = _ => 1 };
        var outPath = new Option<string>("--out") { Description = "output PNG (written atomically)", Required = true };
        var grid = new Option<string?>("--grid") { Description = "resample the table to this grid HxW first" };
        var style = new Option<string?>("--style") { Description = "resampling semantics for --grid (default: the model's; timm for a bare table)" };
        var cell = new Option<int?>("--cell") { Description = "pixels per grid position inside a tile (default: tiles of about 48 pixels)" };
        var colormap = new Option<string>("--colormap") { Description = "viridis | inferno | gray", DefaultValueFactory = _ => "viridis" };
        var range = new Option<string>("--range") { Description = "colour scale shared by all tiles: auto (the table's smallest to largest similarity) or fixed (-1 to 1, as the ViT paper)", DefaultValueFactory = _ => "auto" };
        range.AcceptOnlyFromAmong("auto", "fixed");
        var checkpoint = new CheckpointOptions();

        var command = new Command("show", "Draw the cosine similarity of every position embedding with every other, as tiles on the patch grid (ViT paper, Fig. 7).")
        {
            weights, input, from, prefix, outPath, grid, style, cell, colormap, range,
        };
        checkpoint.AddTo(command);
        command.SetAction(r =>
        {
            CliApp.RequireTorch();
            if (r.GetValue(weights) is not null && r.GetValue(input) is not null) throw new ArgumentException("give one of --weights CHECKPOINT or --in TABLE.safetensors, not both");
            if (r.GetValue(cell) is < 1) throw new ArgumentException($"--cell must be positive, got {r.GetValue(cell)}");
            string target = r.GetValue(outPath)!;
            CliInputs.RequireExtension(target, ".png", "the picture is a PNG");
            CliInputs.RequireOutputFolder(target);
            CliInputs.RequireNotAnInput(target, r.GetValue(weights), r.GetValue(input));
            var map = Colormap.FromName(r.GetValue(colormap)!);
            GridSize? requested = r.GetValue(grid) is { } g ? GridSize.Parse(g) : null;
            PosEmbedResampling? chosen = r.GetValue(style) is { } s ? PosEmbedResampling.FromName(s) : null;

            using var scope = NewDisposeScope();
            var table = r.GetValue(input) is { } tablePath
                ? BareTable(tablePath, r.GetValue<string?>("--key") ?? "pos_embed", r.GetValue(from), r.GetValue(prefix), requested, chosen ?? PosEmbedResampling.Timm)
                : ModelTable(ShippedModel.WeightsOrShipped(r.GetValue(weights)), checkpoint.Read(r), requested, chosen, output);

            var similarity = CosineSimilarity(table.Patches);
            var scale = r.GetValue(range) == "fixed"
                ? new ValueRange(-1, 1)
                : new ValueRange(similarity.min().item<float>(), similarity.max().item<float>());
            var shown = table.Grid;
            int cellPixels = r.GetValue(cell) ?? Math.Max(1, (int)Math.Ceiling(48.0 / Math.Max(shown.Height, shown.Width)));
            var sheet = new TileGrid
            {
                Rows = shown.Height,
                Columns = shown.Width,
                TileWidth = cellPixels * shown.Width,
                TileHeight = cellPixels * shown.Height,
                Title = $"position embedding cosine similarity, {table.Description}, colours {scale.Min:0.00} to {scale.Max:0.00}",
            };
            using var picture = sheet.Render((row, column) =>
            {
                var values = HeatMap.ToArray(similarity[row * shown.Width + column].reshape(shown.Height, shown.Width));
                return HeatMap.Render(values, sheet.TileWidth, sheet.TileHeight, map, range: scale);
            });
            OutputFile.WritePng(picture, target);
            output.WriteLine($"{shown} grid ({table.Description}), colours {scale.Min:0.00} to {scale.Max:0.00}, {sheet.Width}x{sheet.Height} pixels -> {Path.GetFullPath(target)}");
            return 0;
        });
        return command;
    }

    /// <summary>The patch rows of a table [positions, D], its grid and how it came to be.</summary>
    private sealed record ShownTable(Tensor Patches, GridSize Grid, string Description);

    private static ShownTable ModelTable(string path, CheckpointLoadOptions options, GridSize? requested, PosEmbedResampling? chosen, TextWriter output)
    {
        using var loaded = CheckpointLoader.Load(path, options);
        var model = loaded.Model;
        var config = model.Config;
        var native = config.GridSize;
        int prefix = config.NoEmbedClass ? 0 : config.NumPrefixTokens;
        var grid = requested ?? native;
        Tensor table;
        string description;
        if (config.PosEmbed == PosEmbedKind.SinCos)
        {
            // A fixed sin-cos table is recomputed for every grid: there is nothing to resample.
            if (chosen is not null) output.WriteLine("note: the model's sin-cos table is recomputed for each grid; --style is ignored");
            table = model.PosEmbedFor(grid);
            description = $"fixed sin-cos on {grid}";
        }
        else if (grid == native)
        {
            table = model.PosEmbedParameter;
            description = $"learned on {native}";
        }
        else
        {
            var how = chosen ?? model.PosEmbedResampling;
            table = PosEmbedResampler.Resample(model.PosEmbedParameter, native, grid, prefix, how);
            description = $"learned on {native}, resampled to {grid} with {how.Name}";
        }
        return new ShownTable(table.detach()[0, TensorIndex.Slice(prefix)].clone().MoveToOuterDisposeScope(), grid, description);
    }

    private static ShownTable BareTable(string path, string key, string? from, int prefix, GridSize? requested, PosEmbedResampling how)
    {
        if (prefix < 0) throw new ArgumentException("--prefix-tokens must be >= 0");
        var table = CliInputs.ReadTensor(path, key);
        if (table.ndim != 3 || table.shape[0] != 1)
            throw new ArgumentException($"'{key}' has shape {CliInputs.Shape(table)}; a position embedding is [1, tokens, dim]");
        var source = from is not null ? GridSize.Parse(from) : SquareGrid(table.shape[1] - prefix);
        if (source.Count + prefix != table.shape[1])
            throw new ArgumentException($"'{key}' has {table.shape[1]} rows, not {prefix} prefix rows + a {source} grid");
        var grid = requested ?? source;
        string description = grid == source ? $"'{key}' on {source}" : $"'{key}' on {source}, resampled to {grid} with {how.Name}";
        if (grid != source) table = PosEmbedResampler.Resample(table, source, grid, prefix, how);
        return new ShownTable(table[0, TensorIndex.Slice(prefix)], grid, description);
    }

    private static GridSize SquareGrid(long patchTokens)
    {
        int side = (int)Math.Round(Math.Sqrt(patchTokens));
        if (patchTokens <= 0 || (long)side * side != patchTokens)
            throw new ArgumentException($"the table has {patchTokens} patch rows, which is not a square grid; pass --from HxW (or check --prefix-tokens)");
        return GridSize.Square(side);
    }

    /// <summary>[positions, positions]: the cosine of the angle between every pair of embeddings.</summary>
    private static Tensor CosineSimilarity(Tensor patches)
    {
        var unit = nn.functional.normalize(patches.to(ScalarType.Float32), p: 2, dim: 1);
        return unit.matmul(unit.t());
    }
}
