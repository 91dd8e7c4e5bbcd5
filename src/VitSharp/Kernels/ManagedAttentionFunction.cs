using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace VitSharp.Kernels;

/// <summary>
/// <see cref="ManagedAttention"/> as an autograd node: packed <c>qkv</c> in, context out, and the kernel's own
/// backward pass in the graph. Without gradients, <see cref="Apply"/> skips the node and keeps no probabilities.
/// </summary>
internal sealed class ManagedAttentionFunction : SingleTensorFunction<ManagedAttentionFunction>
{
    public override string Name => "VitSharpManagedAttention";

    /// <summary>The context <c>[B, N, H·D]</c> of the packed projection <paramref name="qkv"/> <c>[B, N, 3·H·D]</c>.</summary>
    public static Tensor Apply(Tensor qkv, int heads)
    {
        if (!is_grad_enabled() || !qkv.requires_grad)
            return ManagedAttention.Forward(qkv.contiguous(), heads, keepProbabilities: false).Context;
        return apply(qkv, heads);
    }

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var qkv = ((Tensor)vars[0]).contiguous();
        int heads = (int)vars[1];
        var (context, probabilities) = ManagedAttention.Forward(qkv, heads, keepProbabilities: true);
        ctx.save_for_backward([qkv, probabilities!]);
        ctx.save_data("heads", heads);
        return context;
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        var saved = ctx.get_saved_variables();
        var qkvGrad = ManagedAttention.Backward(saved[0], saved[1], grad_output, (int)ctx.get_data("heads"));
        return [qkvGrad, null!];
    }
}
