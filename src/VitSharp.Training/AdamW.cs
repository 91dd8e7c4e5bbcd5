using TorchSharp;
using TorchSharp.Modules;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Training;

/// <summary>
/// AdamW with decoupled weight decay (Loshchilov &amp; Hutter), step for step PyTorch's single-tensor
/// <c>torch.optim.AdamW</c>: <c>p ← p·(1 − lr·wd)</c>, then the bias-corrected Adam update. Written here rather than
/// using TorchSharp's so that its whole state (<c>exp_avg</c>, <c>exp_avg_sq</c> and the step of every parameter)
/// is plain named tensors that a checkpoint stores and restores bit for bit.
/// </summary>
public sealed class AdamW : IDisposable
{
    private sealed class State(Parameter parameter)
    {
        public long Step;
        public readonly Tensor ExpAvg = zeros_like(parameter).DetachFromDisposeScope();
        public readonly Tensor ExpAvgSq = zeros_like(parameter).DetachFromDisposeScope();
    }

    private readonly Dictionary<string, State> states = new(StringComparer.Ordinal);

    public AdamW(IReadOnlyList<ParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(groups);
        Groups = groups;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        foreach (var (name, parameter) in groups.SelectMany(g => g.Parameters))
        {
            if (!states.TryAdd(name, new State(parameter))) throw new ArgumentException($"parameter '{name}' is in more than one group");
        }
    }

    public IReadOnlyList<ParamGroup> Groups { get; }
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }

    /// <summary>Updates every parameter that has a gradient, group <c>g</c> with learning rate <c>lr · g.LrScale</c>.</summary>
    public void Step(double lr)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var group in Groups)
        {
            double groupLr = lr * group.LrScale;
            foreach (var (name, parameter) in group.Parameters)
            {
                var grad = parameter.grad;
                if (grad is null) continue;
                var state = states[name];
                state.Step++;
                parameter.TimesInPlace(1 - groupLr * group.WeightDecay);
                double biasCorrection1 = 1 - Math.Pow(Beta1, state.Step);
                double biasCorrection2 = 1 - Math.Pow(Beta2, state.Step);
                state.ExpAvg.TimesInPlace(Beta1).AddInPlace(grad, alpha: 1 - Beta1);
                state.ExpAvgSq.TimesInPlace(Beta2).AddcmulInPlace(grad, grad, value: 1 - Beta2);
                var denom = state.ExpAvgSq.sqrt().DivideInPlace(Math.Sqrt(biasCorrection2)).AddInPlace(Eps);
                parameter.AddcdivInPlace(state.ExpAvg, denom, value: -groupLr / biasCorrection1);
            }
        }
    }

    /// <summary>Clears every gradient (sets it to none, as PyTorch's <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var (_, parameter) in Groups.SelectMany(g => g.Parameters))
        {
            if (parameter.grad is { } grad)
            {
                parameter.grad = null;
                grad.Dispose();
            }
        }
    }

    /// <summary>The state as tensors: <c>{prefix}exp_avg.NAME</c>, <c>{prefix}exp_avg_sq.NAME</c>, <c>{prefix}step.NAME</c> (int64 scalar). They alias the live state.</summary>
    public Dictionary<string, Tensor> StateTensors(string prefix)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, state) in states)
        {
            tensors[$"{prefix}exp_avg.{name}"] = state.ExpAvg;
            tensors[$"{prefix}exp_avg_sq.{name}"] = state.ExpAvgSq;
            tensors[$"{prefix}step.{name}"] = tensor(state.Step);
        }
        return tensors;
    }

    /// <summary>Overwrites the state from tensors named as <see cref="StateTensors"/> names them; every one must be there, with the right shape.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, string prefix)
    {
        using var noGrad = no_grad();
        foreach (var (name, state) in states)
        {
            Copy(tensors, $"{prefix}exp_avg.{name}", state.ExpAvg);
            Copy(tensors, $"{prefix}exp_avg_sq.{name}", state.ExpAvgSq);
            state.Step = Find(tensors, $"{prefix}step.{name}").item<long>();
        }
    }

    /// <summary>The step count of one parameter (all parameters with gradients share it).</summary>
    public long StepOf(string name) => states[name].Step;

    private static Tensor Find(IReadOnlyDictionary<string, Tensor> tensors, string key) =>
        tensors.TryGetValue(key, out var t) ? t : throw new InvalidDataException($"the optimizer state has no '{key}'");

    private static void Copy(IReadOnlyDictionary<string, Tensor> tensors, string key, Tensor target)
    {
        var source = Find(tensors, key);
        if (!source.shape.SequenceEqual(target.shape) || source.dtype != target.dtype)
            throw new InvalidDataException($"optimizer state '{key}' is {source.dtype}[{string.Join(", ", source.shape)}], the model needs {target.dtype}[{string.Join(", ", target.shape)}]");
        target.copy_(source);
    }

    public void Dispose()
    {
        foreach (var state in states.Values)
        {
            state.ExpAvg.Dispose();
            state.ExpAvgSq.Dispose();
        }
        states.Clear();
    }
}
