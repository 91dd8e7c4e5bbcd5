using VitSharp.Models;
using static TorchSharp.torch;

namespace VitSharp.Training;

/// <summary>
/// An exponential moving average of a model's weights (timm's <c>ModelEma</c>): after every optimizer step,
/// <c>ema ← decay·ema + (1 − decay)·weights</c>. With warmup the decay of update <c>t</c> (counted from 0) is
/// <c>min(decay, (1 + t) / (10 + t))</c>, so that early averages are not dominated by the random initialisation.
/// The averaged copy is evaluated on its own and never trained.
/// </summary>
public sealed class ModelEma : IDisposable
{
    private readonly List<(Tensor Ema, Tensor Live)> pairs;

    public ModelEma(VisionTransformer model, double decay, bool warmup)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (decay is not (>= 0 and < 1)) throw new ArgumentException($"EMA decay must be in [0, 1), got {decay}");
        Decay = decay;
        Warmup = warmup;
        Model = new VisionTransformer(model.Config) { PosEmbedResampling = model.PosEmbedResampling };
        Model.load_state_dict(model.state_dict());
        Model.eval();
        foreach (var parameter in Model.parameters()) parameter.requires_grad = false;
        var live = model.state_dict();
        pairs = [.. Model.state_dict().Select(kv => (kv.Value, live[kv.Key]))];
    }

    /// <summary>The averaged model, in evaluation mode. Disposing this object disposes it.</summary>
    public VisionTransformer Model { get; }
    public double Decay { get; }
    public bool Warmup { get; }

    /// <summary>Updates applied so far; saved in checkpoints because the warmup depends on it.</summary>
    public long Updates { get; set; }

    /// <summary>The decay the next update uses.</summary>
    public double CurrentDecay => Warmup ? Math.Min(Decay, (1.0 + Updates) / (10.0 + Updates)) : Decay;

    public void Update()
    {
        double decay = CurrentDecay;
        using (no_grad())
        {
            // One weight tensor for every pair, held by this frame until the last lerp_ has returned: a number passed
            // as the weight would become a temporary tensor that a garbage collection can free mid-call (see KeptScalars).
            using var weight = tensor(1 - decay);
            // Integer buffers (none in a ViT today) are copied, not averaged.
            foreach (var (ema, live) in pairs)
            {
                if (ema.is_floating_point()) ema.lerp_(live, weight);
                else ema.copy_(live);
            }
        }
        Updates++;
        Model.ClearPosEmbedCache();
    }

    public void Dispose() => Model.Dispose();
}
