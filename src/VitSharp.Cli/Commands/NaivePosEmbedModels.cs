using TorchSharp;
using VitSharp.Models;
using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>
/// The seed tutorial's "naive" position embedding as a contrast: at another grid it adds <c>pos_embed[:, :T]</c>,
/// the first T rows of the row-major table, instead of resampling it (see the vit_seed fixture's naive_logits).
/// Each grid gets a copy of the model built for that grid whose table is those rows; grids with more tokens than
/// the table has rows cannot be run that way (the seed's forward raises there too).
/// </summary>
internal sealed class NaivePosEmbedModels(VisionTransformer model) : IDisposable
{
    private readonly Dictionary<GridSize, VisionTransformer> byGrid = [];

    /// <summary>Why the naive slicing cannot run on <paramref name="grid"/>, or null when it can.</summary>
    public string? Refusal(GridSize grid)
    {
        var config = model.Config;
        if (config.PosEmbed != PosEmbedKind.Learned) return "the model's sin-cos table is not sliced";
        int rows = (int)model.PosEmbedParameter.shape[1];
        int needed = (config with { ImgSize = new GridSize(grid.Height * config.PatchSize, grid.Width * config.PatchSize) }).PosEmbedTokens;
        return needed > rows ? $"{grid} needs {needed} table rows, the table has {rows}" : null;
    }

    /// <summary>The model for <paramref name="grid"/> with the first rows of the table; check <see cref="Refusal"/> first.</summary>
    public VisionTransformer For(GridSize grid)
    {
        if (byGrid.TryGetValue(grid, out var known)) return known;
        if (Refusal(grid) is { } why) throw new InvalidOperationException($"naive slicing cannot run: {why}");

        var config = model.Config with { ImgSize = new GridSize(grid.Height * model.Config.PatchSize, grid.Width * model.Config.PatchSize) };
        var copy = new VisionTransformer(config);
        var weights = model.state_dict();
        using (no_grad())
        {
            weights["pos_embed"] = model.PosEmbedParameter[.., ..config.PosEmbedTokens];
            copy.load_state_dict(weights);
        }
        copy.to(model.PosEmbedParameter.device);
        copy.eval();
        // The copy outlives the caller's dispose scope (it is reused for every image on this grid).
        foreach (var tensor in copy.parameters().Concat(copy.buffers())) tensor.DetachFromDisposeScope();
        byGrid[grid] = copy;
        return copy;
    }

    public void Dispose()
    {
        foreach (var copy in byGrid.Values) copy.Dispose();
    }
}
