using System.Collections.Concurrent;
using VitSharp.Kernels;
using VitSharp.Modules;
using static TorchSharp.torch;

namespace VitSharp.Tests.Kernels;

/// <summary>
/// The gate every fast kernel passes: a kernel made wrong on one signature (<see cref="KernelFaults"/>) is caught by
/// its first check, never computes that signature, is reported once, and its callers give libtorch's answer. The
/// signatures here are ones no other test uses (widths of 777, 333, 37 tokens): a verdict lasts for the process.
/// </summary>
[Collection(nameof(KernelChecksTests))]
[CollectionDefinition(nameof(KernelChecksTests), DisableParallelization = true)]
public class KernelChecksTests
{
    private static List<KernelCheckResult> Disagreements(Action run, Func<KernelCheckResult, bool> about)
    {
        var seen = new ConcurrentQueue<KernelCheckResult>();
        EventHandler<KernelCheckResult> handler = (_, check) => { if (about(check)) seen.Enqueue(check); };
        KernelChecks.Disagreed += handler;
        try
        {
            run();
        }
        finally
        {
            KernelChecks.Disagreed -= handler;
        }
        return [.. seen];
    }

    [Fact]
    public void A_wrong_packed_product_is_refused_reported_once_and_libtorchs_linear_computed_instead()
    {
        if (!OneDnnPackedLinear.IsAvailable) return; // not x86-64
        using var scope = NewDisposeScope();
        using var layer = new LinearLayer(64, 777) { Kernel = LinearKernel.OneDnn };
        layer.eval();
        Assert.True(layer.Pack());
        var x = randn([13, 64], generator: new Generator(seed: 31));
        using var fault = KernelFaults.Inject(s => s is OneDnnPackedLinear.Signature { Out: 777 });
        var reported = Disagreements(() =>
        {
            using var _ = inference_mode();
            var expected = nn.functional.linear(x, layer.Weight, layer.Bias);
            for (int call = 0; call < 6; call++)
            {
                Assert.True(layer.call(x).equal(expected).all().item<bool>(), $"call {call} is not libtorch's linear");
                Assert.Equal(KernelSelection.LinearPath.Reference, layer.LastPath);
            }
        }, check => check.Signature.Contains("→777", StringComparison.Ordinal));

        // 13 rows, and 14 once the row padding tries one more: each reported once, however many calls.
        Assert.NotEmpty(reported);
        Assert.Equal(reported.Count, reported.Select(r => r.Signature).Distinct().Count());
        Assert.All(reported, r => Assert.Equal("oneDNN packed linear", r.Kernel));
        Assert.All(reported, r => Assert.True(r.WorstRatio > 100, $"a 10 % error is {r.WorstRatio}x the tolerance"));
        Assert.Contains(KernelChecks.Results, r => r.Signature == reported[0].Signature && !r.Agrees);
    }

    [Fact]
    public void A_wrong_oneDNN_linear_in_training_is_refused_with_its_gradients_libtorchs()
    {
        if (!OneDnnLinear.IsAvailable) return;
        using var scope = NewDisposeScope();
        using var layer = new LinearLayer(64, 333) { Kernel = LinearKernel.OneDnn };
        var x = randn([70, 64], generator: new Generator(seed: 32));
        using var fault = KernelFaults.Inject(s => s is OneDnnLinear.Signature { Out: 333 });
        var reported = Disagreements(() =>
        {
            var input = x.detach().requires_grad_(true);
            layer.call(input).sin().sum().backward();
            Assert.Equal(KernelSelection.LinearPath.Reference, layer.LastPath);
            var (inputGrad, weightGrad) = (input.grad!.clone(), layer.Weight.grad!.clone());

            layer.zero_grad();
            var reference = x.detach().requires_grad_(true);
            nn.functional.linear(reference, layer.Weight, layer.Bias).sin().sum().backward();
            Assert.True(inputGrad.equal(reference.grad!).all().item<bool>(), "input gradient");
            Assert.True(weightGrad.equal(layer.Weight.grad!).all().item<bool>(), "weight gradient");
        }, check => check.Signature.Contains("→333", StringComparison.Ordinal));

        var only = Assert.Single(reported);
        Assert.Contains("with gradients", only.Signature);
    }

    [Fact]
    public void A_wrong_oneDNN_attention_is_refused_and_libtorchs_fused_attention_computed_instead()
    {
        if (!OneDnnAttention.IsAvailable) return;
        using var scope = NewDisposeScope();
        using var attention = new Attention(64, 2, qkvBias: true, attnDropRate: 0, projDropRate: 0);
        attention.eval();
        var x = randn([1, 37, 64], generator: new Generator(seed: 33));
        using var fault = KernelFaults.Inject(s => s is OneDnnAttention.Signature { Tokens: 37 });
        var reported = Disagreements(() =>
        {
            using var _ = inference_mode();
            attention.Kernel = AttentionKernel.Fused;
            var expected = attention.call(x);
            attention.Kernel = AttentionKernel.OneDnn;
            for (int call = 0; call < 3; call++)
                Assert.True(attention.call(x).equal(expected).all().item<bool>(), $"call {call} is not libtorch's fused attention");
        }, check => check.Kernel == "oneDNN attention" && check.Signature.Contains("37 tokens", StringComparison.Ordinal));
        Assert.Single(reported);
    }

    [Fact]
    public void The_same_kernels_agree_without_the_fault()
    {
        // The counterpart of the tests above: the faults, not the shapes, made them disagree.
        if (!OneDnnPackedLinear.IsAvailable) return;
        Assert.True(KernelChecks.Verdict(new OneDnnPackedLinear.Signature(13, 64, 778, true, ScalarType.Float32, get_num_threads())).Agrees);
        Assert.True(KernelChecks.Verdict(new OneDnnLinear.Signature(70, 64, 334, true, true, get_num_threads())).Agrees);
        Assert.True(KernelChecks.Verdict(new OneDnnAttention.Signature(1, 38, 2, 32, get_num_threads())).Agrees);
    }

    private readonly record struct CountedSignature(int Id) : IKernelSignature
    {
        public static int Checks;

        public string Kernel => "counted test kernel";

        public string Describe() => $"id {Id}";

        public ErrorMeasure Check()
        {
            Interlocked.Increment(ref Checks);
            Thread.Sleep(50); // long enough for the other threads to arrive while it runs
            return new ErrorMeasure(0, 0);
        }
    }

    [Fact]
    public void A_signature_is_checked_once_however_many_threads_meet_it_first()
    {
        var signature = new CountedSignature(Environment.TickCount);
        var verdicts = new ConcurrentBag<KernelCheckResult>();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ => verdicts.Add(KernelChecks.Verdict(signature)));
        Assert.Equal(1, CountedSignature.Checks);
        Assert.Single(verdicts.Distinct());
        Assert.True(verdicts.First().Agrees);
    }

    private readonly record struct ThrowingSignature(int Id) : IKernelSignature
    {
        public string Kernel => "throwing test kernel";

        public string Describe() => $"id {Id}";

        public ErrorMeasure Check() => throw new InvalidOperationException("libtorch failed in the test kernel (error 1)");
    }

    [Fact]
    public void A_kernel_that_fails_is_refused_with_the_reason()
    {
        var verdict = KernelChecks.Verdict(new ThrowingSignature(1));
        Assert.False(verdict.Agrees);
        Assert.Equal("libtorch failed in the test kernel (error 1)", verdict.Failure);
        Assert.Contains("could not run", verdict.ToString());
    }
}
