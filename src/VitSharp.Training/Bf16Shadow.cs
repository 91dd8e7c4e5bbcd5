using TorchSharp;
using TorchSharp.Modules;
using VitSharp.Models;
using static TorchSharp.torch;

namespace VitSharp.Training;

/// <summary>
/// Mixed precision without autocast (TorchSharp has none): a bfloat16 copy of the model runs the forward and
/// backward passes, while the float32 model keeps the master weights the optimizer updates. Before each step the
/// master weights are cast into the copy; after backward its gradients are cast up into the master's.
/// </summary>
internal sealed class Bf16Shadow : IDisposable
{
    private readonly VisionTransformer shadow;
    private readonly List<(Parameter Master, Parameter Copy)> pairs;

    public Bf16Shadow(VisionTransformer master)
    {
        shadow = new VisionTransformer(master.Config) { PosEmbedResampling = master.PosEmbedResampling };
        shadow.to(ScalarType.BFloat16);
        var copies = shadow.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        pairs = [.. master.named_parameters().Select(p => (p.parameter, copies[p.name]))];
        foreach (var (m, c) in pairs) c.requires_grad = m.requires_grad;
    }

    /// <summary>Casts the master weights into the copy.</summary>
    public void Pull()
    {
        using var noGrad = no_grad();
        foreach (var (master, copy) in pairs) copy.copy_(master);
        shadow.ClearPosEmbedCache();
    }

    public void Train(bool training) => shadow.train(training);

    /// <summary>The copy's logits for float32 images (cast to bfloat16 here).</summary>
    public Tensor Forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return shadow.call(images.to(ScalarType.BFloat16)).MoveToOuterDisposeScope();
    }

    /// <summary>Moves the copy's gradients, as float32, into the master parameters (replacing theirs) and clears the copy's.</summary>
    public void PushGradients()
    {
        foreach (var (master, copy) in pairs)
        {
            if (copy.grad is not { } grad) continue;
            master.grad?.Dispose();
            master.grad = grad.to(ScalarType.Float32).DetachFromDisposeScope();
            copy.grad = null;
            grad.Dispose();
        }
    }

    public void Dispose() => shadow.Dispose();
}
