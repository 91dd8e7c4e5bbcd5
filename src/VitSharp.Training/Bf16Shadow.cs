using TorchSharp;
using TorchSharp.Modules;
using VitSharp.Models;
using static TorchSharp.torch;

namespace VitSharp.Training;

/// <summary>
/// Mixed precision without autocast (TorchSharp 0.107 has none): a bfloat16 copy of the model runs the forward and
/// backward passes, while the float32 model keeps the master weights that the optimizer updates, the EMA averages
/// and evaluation runs. Before each step the master weights are rounded into the copy; after backward the copy's
/// gradients are cast up to float32 and become the master's, so clipping and AdamW work in float32.
/// Unlike autocast, LayerNorm and softmax run on bfloat16 tensors too; libtorch's CPU kernels for both accumulate
/// in float32, and the loss is computed in float32 from the logits (<see cref="SoftTargetCrossEntropy"/>).
/// </summary>
internal sealed class Bf16Shadow : IDisposable
{
    private readonly VisionTransformer copy;
    private readonly List<(Parameter Master, Parameter Copy)> pairs;

    public Bf16Shadow(VisionTransformer master)
    {
        // The master's weights are pulled in before every step, so the copy's own initialisation is skipped.
        copy = new VisionTransformer(master.Config, initializeWeights: false)
        {
            PosEmbedResampling = master.PosEmbedResampling,
            AttentionKernel = master.AttentionKernel,
            LinearKernel = master.LinearKernel,
        };
        copy.to(master.PosEmbedParameter.device);
        copy.to(ScalarType.BFloat16);
        var copies = copy.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        pairs = [.. master.named_parameters().Select(p => (p.parameter, copies[p.name]))];
        foreach (var (m, c) in pairs) c.requires_grad = m.requires_grad;
        if (copy.buffers().Any())
            throw new NotSupportedException("bf16 training keeps no buffers in step with the master model (a BatchNorm stem has running statistics); train this architecture in fp32");
    }

    /// <summary>Rounds the master weights into the copy.</summary>
    public void Pull()
    {
        using (no_grad())
            foreach (var (master, c) in pairs) c.copy_(master);
        copy.ClearPosEmbedCache();
    }

    public void Train(bool training) => copy.train(training);

    /// <summary>The copy's parameters (tests check that their gradients were handed over).</summary>
    internal IEnumerable<Parameter> Parameters() => pairs.Select(p => p.Copy);

    /// <summary>The copy's logits (bfloat16) for images of any floating dtype.</summary>
    public Tensor Forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return copy.call(images.to(ScalarType.BFloat16)).MoveToOuterDisposeScope();
    }

    /// <summary>Moves the copy's gradients, as float32, into the master parameters (replacing theirs) and clears the copy's.</summary>
    public void PushGradients()
    {
        foreach (var (master, c) in pairs)
        {
            if (c.grad is not { } grad) continue;
            var old = master.grad;
            master.grad = grad.to(ScalarType.Float32).DetachFromDisposeScope();
            old?.Dispose();
            c.grad = null;
            grad.Dispose();
        }
    }

    public void Dispose() => copy.Dispose();
}
