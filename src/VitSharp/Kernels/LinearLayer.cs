using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>
/// <c>y = x·Wᵀ + b</c> with the parameters and state_dict keys of <c>torch.nn.Linear</c> (<c>weight [out, in]</c>,
/// <c>bias [out]</c>), which picks the code that computes it on each call: libtorch's <c>linear</c>, oneDNN, or oneDNN
/// from a weight packed once (<see cref="Pack"/>), by <see cref="Kernel"/> and <see cref="KernelSelection"/>. A fast
/// kernel computes only shapes that have matched libtorch's <c>linear</c> in this process (<see cref="KernelChecks"/>);
/// elsewhere the layer computes libtorch's. Called through <c>call</c> like any module, so its hooks always fire.
/// </summary>
public sealed class LinearLayer : nn.Module<Tensor, Tensor>
{
    // Not readonly: Module.to(...) replaces parameter fields. The names are the state_dict keys.
    private Parameter weight;
    private Parameter? bias;

    private PackedLinearWeight? pack;

    /// <summary>A layer initialised as <c>torch.nn.Linear</c> does: weight and bias uniform in ±1/√in.</summary>
    public LinearLayer(long inFeatures, long outFeatures, bool hasBias = true) : base(nameof(LinearLayer))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        double bound = 1 / Math.Sqrt(inFeatures);
        using (no_grad())
        {
            weight = nn.Parameter(empty(outFeatures, inFeatures).uniform_(-bound, bound));
            bias = hasBias ? nn.Parameter(empty(outFeatures).uniform_(-bound, bound)) : null;
        }
        RegisterComponents();
    }

    public long InFeatures { get; }

    public long OutFeatures { get; }

    /// <summary>The weight <c>[out, in]</c>.</summary>
    public Parameter Weight => weight;

    /// <summary>The bias <c>[out]</c>, or null.</summary>
    public Parameter? Bias => bias;

    /// <summary>Which code computes the product (default <see cref="LinearKernel.Auto"/>).</summary>
    public LinearKernel Kernel { get; set; } = LinearKernel.Auto;

    /// <summary>The code that computed the last call (after any refusal): for tests and profiles; not synchronised.</summary>
    internal KernelSelection.LinearPath LastPath { get; private set; }

    /// <summary>Whether a pack of the current weight is held and may serve at the current thread count.</summary>
    public bool IsPacked => pack is not null && pack.Serves(weight);

    public override Tensor forward(Tensor x)
    {
        var shape = x.shape;
        if (shape.Length == 0 || shape[^1] != InFeatures)
            throw new ArgumentException($"a linear layer of {InFeatures} input features takes [..., {InFeatures}], not [{string.Join(", ", shape)}]", nameof(x));
        LastPath = KernelSelection.LinearPath.Reference;
        if (Kernel == LinearKernel.Blas) return nn.functional.linear(x, weight, bias);

        long rows = 1;
        for (int i = 0; i < shape.Length - 1; i++) rows *= shape[i];
        if (rows == 0) return nn.functional.linear(x, weight, bias);
        var dtype = x.dtype;
        bool servingPack = pack is not null && pack.DType == dtype && pack.Serves(weight);
        var path = KernelSelection.ChooseLinear(Kernel, rows, InFeatures, OutFeatures, dtype, x.device_type, is_grad_enabled(), servingPack);
        var y = path switch
        {
            KernelSelection.LinearPath.Packed => PackedLinearRowPadding.TryForward(x, rows, pack!, bias),
            KernelSelection.LinearPath.OneDnn => OneDnnLinear.TryForward(x, weight, bias, rows),
            _ => null,
        };
        if (y is null) return nn.functional.linear(x, weight, bias);
        LastPath = path;
        return y;
    }

    /// <summary>
    /// Packs the weight once into oneDNN's layout for inference on the CPU (float32, or bfloat16 on a CPU with
    /// bfloat16 instructions), replacing any older pack; returns whether it could. The layer runs from its pack only
    /// without gradients, with input of the pack's dtype, at the thread count it was packed at, and while the pack's
    /// weight tensor is still the layer's. <b>Changing the weight in place (an optimizer step, <c>copy_</c>) is not
    /// noticed: pack again afterwards, or <see cref="Unpack"/>.</b> <c>train()</c> and <c>load_state_dict</c> unpack.
    /// </summary>
    public bool Pack()
    {
        Unpack();
        pack = PackedLinearWeight.TryPack(weight);
        return pack is not null;
    }

    /// <summary>Drops the pack, if any, freeing its memory.</summary>
    public void Unpack()
    {
        pack?.Dispose();
        pack = null;
    }

    public override void train(bool train = true)
    {
        if (train) Unpack(); // training changes the weight in place
        base.train(train);
    }

    public override (IList<string> missing_keys, IList<string> unexpected_keyes) load_state_dict(Dictionary<string, Tensor> source, bool strict = true, IList<string>? skip = null)
    {
        Unpack();
        return base.load_state_dict(source, strict, skip);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Unpack();
        base.Dispose(disposing);
    }
}
