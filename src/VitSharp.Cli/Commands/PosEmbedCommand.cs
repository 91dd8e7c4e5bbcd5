using System.CommandLine;
using VitSharp.IO;
using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary><c>vitsharp posembed resample</c>: resample a position-embedding table in a safetensors file with a family's semantics.</summary>
internal static class PosEmbedCommand
{
    public static Command Create(TextWriter output)
    {
        var input = new Option<string>("--in") { Description = "safetensors file holding the table", Required = true };
        var key = new Option<string>("--key") { Description = "tensor key of the table [1, prefix + h*w, D]", DefaultValueFactory = _ => "pos_embed" };
        var grid = new Option<string?>("--grid") { Description = "target patch grid HxW" };
        var image = new Option<string?>("--image") { Description = "target image size HxW in pixels (grid = floor(size / patch), as the families compute it)" };
        var patch = new Option<int?>("--patch") { Description = "patch size, with --image" };
        var from = new Option<string?>("--from") { Description = "source grid HxW (default: the square grid the table implies)" };
        var prefix = new Option<int>("--prefix-tokens") { Description = "leading class/register entries that are not on the grid", DefaultValueFactory = _ => 1 };
        var style = new Option<string>("--style") { Description = "dino | dinov2 | dinov2_reg | timm | timm_flexi | torchvision | hf | hf_legacy", Required = true };
        var mode = new Option<string?>("--mode") { Description = "bicubic | bilinear | nearest (default: the style's)" };
        var antialias = new Option<bool?>("--antialias") { Description = "override the style's antialias flag" };
        var outPath = new Option<string>("--out") { Description = "output safetensors file (written atomically; key = --key)", Required = true };

        var resample = new Command("resample", "Resample a learned position embedding to another grid, exactly as a PyTorch family does.")
        {
            input, key, grid, image, patch, from, prefix, style, mode, antialias, outPath,
        };
        resample.SetAction(r =>
        {
            CliApp.RequireTorch();
            CliInputs.RequireExtension(r.GetValue(outPath)!, ".safetensors", "the table is written as safetensors");
            CliInputs.RequireNotAnInput(r.GetValue(outPath)!, r.GetValue(input));
            var how = Semantics(r.GetValue(style)!, r.GetValue(mode), r.GetValue(antialias));
            var (newGrid, imageSize) = Target(r.GetValue(grid), r.GetValue(image), r.GetValue(patch));
            int prefixTokens = r.GetValue(prefix);
            if (prefixTokens < 0) throw new ArgumentException("--prefix-tokens must be >= 0");
            string tableKey = r.GetValue(key)!;

            using var scope = NewDisposeScope();
            var table = CliInputs.ReadTensor(r.GetValue(input)!, tableKey);
            if (table.ndim != 3 || table.shape[0] != 1)
                throw new ArgumentException($"'{tableKey}' has shape {CliInputs.Shape(table)}; a position embedding is [1, tokens, dim]");
            if (prefixTokens < 0 || prefixTokens >= table.shape[1])
                throw new ArgumentException($"--prefix-tokens {prefixTokens} leaves no patch tokens in a table of {table.shape[1]} rows");
            var oldGrid = r.GetValue(from) is { } f ? GridSize.Parse(f) : SquareGrid(table.shape[1] - prefixTokens);

            var result = PosEmbedResampler.Resample(table, oldGrid, newGrid, prefixTokens, how, imageSize);
            SafeTensors.Write(r.GetValue(outPath)!, new Dictionary<string, Tensor> { [tableKey] = result }, new Dictionary<string, string>
            {
                ["vitsharp.posembed.semantics"] = how.ToString(),
                ["vitsharp.posembed.from"] = oldGrid.ToString(),
                ["vitsharp.posembed.to"] = newGrid.ToString(),
                ["vitsharp.posembed.prefix_tokens"] = prefixTokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
            output.WriteLine($"{tableKey}: {CliInputs.Shape(table)} on {oldGrid} -> {CliInputs.Shape(result)} on {newGrid} with {how}");
            return 0;
        });
        return new Command("posembed", "Position-embedding tools.") { resample };
    }

    internal static PosEmbedResampling Semantics(string style, string? mode, bool? antialias)
    {
        var how = PosEmbedResampling.FromName(style);
        if (mode is not null)
        {
            how = how.WithMode(mode.ToLowerInvariant() switch
            {
                "bicubic" => PosEmbedInterpolation.Bicubic,
                "bilinear" => PosEmbedInterpolation.Bilinear,
                "nearest" => PosEmbedInterpolation.Nearest,
                _ => throw new ArgumentException($"--mode '{mode}' is not one of bicubic, bilinear, nearest"),
            });
        }
        if (antialias is { } aa)
        {
            if (aa && how.Mode == PosEmbedInterpolation.Nearest) throw new ArgumentException("--antialias true needs mode bilinear or bicubic");
            how = how with { Antialias = aa };
        }
        return how;
    }

    private static (GridSize Grid, GridSize? Image) Target(string? grid, string? image, int? patch)
    {
        if ((grid is null) == (image is null)) throw new ArgumentException("give exactly one of --grid HxW or --image HxW (with --patch)");
        if (grid is not null) return (GridSize.Parse(grid), null);
        if (patch is not > 0) throw new ArgumentException("--image needs --patch P (a positive patch size)");
        var size = GridSize.Parse(image!);
        var target = new GridSize(size.Height / patch.Value, size.Width / patch.Value);
        if (target.Height == 0 || target.Width == 0) throw new ArgumentException($"image {size} is smaller than one {patch}x{patch} patch");
        return (target, size);
    }

    private static GridSize SquareGrid(long patchTokens)
    {
        int side = (int)Math.Round(Math.Sqrt(patchTokens));
        if (patchTokens <= 0 || (long)side * side != patchTokens)
            throw new ArgumentException($"the table has {patchTokens} patch tokens, which is not a square grid; pass the source grid with --from HxW (or check --prefix-tokens)");
        return GridSize.Square(side);
    }
}
