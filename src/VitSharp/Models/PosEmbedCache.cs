using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Models;

/// <summary>
/// Resampled position tables of one model in evaluation mode, keyed by the parameter they came from (handle, device,
/// dtype), the target grid, the image's squareness (it decides DINO's skip rule) and the semantics. Entries are detached from autograd
/// and from dispose scopes; the cache owns and disposes them. It holds at most <see cref="Capacity"/> grids.
/// </summary>
internal sealed class PosEmbedCache
{
    public const int Capacity = 32;

    public readonly record struct Key(nint Parameter, string Device, ScalarType DType, GridSize Grid, bool SquareImage, PosEmbedResampling Resampling);

    private readonly Dictionary<Key, Tensor> entries = [];
    private readonly Lock gate = new();

    public Tensor GetOrAdd(Key key, Func<Tensor> compute)
    {
        lock (gate)
        {
            if (entries.TryGetValue(key, out var cached)) return cached;
            if (entries.Count >= Capacity) Clear();
            Tensor table;
            using (no_grad())
            using (NewDisposeScope())
            {
                table = compute().detach().DetachFromDisposeScope();
            }
            entries[key] = table;
            return table;
        }
    }

    public void Clear()
    {
        lock (gate)
        {
            foreach (var table in entries.Values) table.Dispose();
            entries.Clear();
        }
    }
}
