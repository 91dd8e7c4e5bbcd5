using VitSharp.Imaging;
using VitSharp.Models;
using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>One position-embedding semantics of a sweep: a preset, or the seed's naive slicing (null).</summary>
internal sealed record SweepStyle(string Name, PosEmbedResampling? Resampling)
{
    public const string NaiveName = "naive";

    public static SweepStyle Parse(string name)
    {
        if (name.Trim().Equals(NaiveName, StringComparison.OrdinalIgnoreCase)) return new SweepStyle(NaiveName, null);
        var preset = PosEmbedResampling.FromName(name);
        return new SweepStyle(preset.Name, preset);
    }
}

/// <summary>The result of one size and style: how many top-1 predictions were right (or agreed), or why none were made.</summary>
internal sealed record SweepCell(GridSize Size, int Tokens, string Style, int Hits, int Total, string? NotRun)
{
    public double? Rate => NotRun is null && Total > 0 ? (double)Hits / Total : null;
}

/// <summary>
/// Runs a classifier on every image at every size with every style and counts top-1 hits: against the class of
/// the image, or, without classes, against the model's own prediction at its native size.
/// </summary>
internal sealed class ResolutionSweep(VisionTransformer model, string preset)
{
    public IReadOnlyList<SweepCell> Run(SweepImages images, IReadOnlyList<GridSize> sizes, IReadOnlyList<SweepStyle> styles)
    {
        var config = model.Config;
        var original = model.PosEmbedResampling;
        var hits = new int[sizes.Count, styles.Count];
        var refusals = new string?[sizes.Count, styles.Count];
        using var naive = new NaivePosEmbedModels(model);
        try
        {
            for (int i = 0; i < images.Files.Count; i++)
            {
                using var bitmap = ImageFile.Load(images.Files[i]);
                int expected = images.Classes?[i] ?? Predict(model, Preprocessing(config, config.ImgSize, nativeSize: true), bitmap, original);
                for (int s = 0; s < sizes.Count; s++)
                {
                    using var scope = NewDisposeScope();
                    var input = Preprocessing(config, sizes[s], nativeSize: false).Prepare(bitmap).unsqueeze(0);
                    var grid = model.PatchEmbed.GridFor(new GridSize((int)input.shape[2], (int)input.shape[3]));
                    for (int k = 0; k < styles.Count; k++)
                    {
                        if (refusals[s, k] is not null) continue;
                        int? top1 = styles[k].Resampling is { } how
                            ? Top1(model, input, how)
                            : naive.Refusal(grid) is { } why ? Refuse(refusals, s, k, why) : Top1(naive.For(grid), input, null);
                        if (top1 == expected) hits[s, k]++;
                    }
                }
            }
        }
        finally
        {
            model.PosEmbedResampling = original;
        }
        return [.. from s in Enumerable.Range(0, sizes.Count)
                   from k in Enumerable.Range(0, styles.Count)
                   select new SweepCell(sizes[s], Tokens(sizes[s]), styles[k].Name, hits[s, k], images.Files.Count, refusals[s, k])];
    }

    /// <summary>The patch count of a size: the input's grid, or, for the native preset, the token budget.</summary>
    public int Tokens(GridSize size) => size.Height / model.Config.PatchSize * (size.Width / model.Config.PatchSize);

    private ImagePreprocessing Preprocessing(VitConfig config, GridSize size, bool nativeSize) =>
        preset == "native"
            ? ImagePreprocessing.ForModel(preset, config, nativeSize ? null : Tokens(size))
            : ImagePreprocessing.ForModel(preset, config with { ImgSize = size });

    private static int Predict(VisionTransformer model, ImagePreprocessing preprocessing, SkiaSharp.SKBitmap bitmap, PosEmbedResampling how)
    {
        using var scope = NewDisposeScope();
        return Top1(model, preprocessing.Prepare(bitmap).unsqueeze(0), how);
    }

    private static int Top1(VisionTransformer model, Tensor input, PosEmbedResampling? how)
    {
        if (how is not null && model.PosEmbedResampling != how) model.PosEmbedResampling = how;
        using var _ = no_grad();
        using var logits = model.call(input);
        return (int)logits.argmax(1).item<long>();
    }

    private static int? Refuse(string?[,] refusals, int s, int k, string why)
    {
        refusals[s, k] = why;
        return null;
    }
}
