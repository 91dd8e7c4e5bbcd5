using VitSharp.Kernels;
using static TorchSharp.torch;

namespace VitSharp.Tests.Kernels;

[Collection(nameof(GarbageCollectionStress))]
public class OneDnnAttentionTests
{
    [Fact]
    public void Its_arguments_survive_garbage_collections_during_the_call()
    {
        // TorchSharp turns a number passed to TorchScript into a Scalar it does not keep. Before the kernel kept its
        // own, this loop failed 12-13 times in 5 s ("Expected false to be true" from Scalar.h's toLong, the head count
        // freed mid-call), this test (for 3 s) failed in 3 of 4 runs, and a full test run failed once that way while
        // KeptScalarsTests collected in parallel.
        if (!OneDnnAttention.IsAvailable) return; // not x86-64
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var packed = randn([1, 17, 3 * 2 * 32], generator: new Generator(seed: 8));
        var expected = OneDnnAttention.TryForward(packed, 1, 17, 2, 32, 0.125);
        Assert.NotNull(expected);
        int calls = GarbageCollectionStress.WhileCollecting(TimeSpan.FromSeconds(5), () =>
        {
            using var inner = NewDisposeScope();
            Assert.True(OneDnnAttention.TryForward(packed, 1, 17, 2, 32, 0.125)!.equal(expected).all().item<bool>(), "a result differs");
        });
        Assert.True(calls > 1000, $"only {calls} calls");
    }
}
