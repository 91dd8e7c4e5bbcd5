using VitSharp.Kernels;
using static TorchSharp.torch;

namespace VitSharp.Tests.Kernels;

// Alone: the timing is kept per libtorch thread count, which is process-wide, and the CLI tests that run in-process
// (bench --threads 1) change it; between a call and the look at its decision, the key would differ.
[CollectionDefinition(nameof(PackedLinearRowPaddingTests), DisableParallelization = true)]
[Collection(nameof(PackedLinearRowPaddingTests))]
[Trait("Category", "Kernels")]
public class PackedLinearRowPaddingTests
{
    public static TheoryData<long[], long, long, bool, bool> Shapes() => new()
    {
        { [1, 197, 1536], 1536, 384, true, false },  // ViT-S/16's fc2 at 224×224, batch 1
        { [1, 281, 384], 384, 1536, true, false },   // its fc1 at 224×320
        { [3, 5, 64], 64, 192, false, false },
        { [7, 64], 64, 384, true, false },
        { [1, 1, 768], 768, 1000, true, false },     // an ImageNet head, padded to 1152 inside the pack
        { [1, 197, 1536], 1536, 384, true, true },   // the same shapes in bfloat16, timed apart from float32
        { [5, 197, 384], 384, 1536, true, true },    // ViT-S/16's fc1 at batch 5, in bfloat16
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void One_more_row_gives_the_same_result_bit_for_bit(long[] shape, long inFeatures, long outFeatures, bool hasBias, bool bfloat16)
    {
        // The row padding is chosen by timing, so it may differ from run to run: it must never change a number.
        if (!OneDnnPackedLinear.IsAvailable) return; // not x86-64: OneDnnPackedLinearTests checks that it must not be there
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var dtype = bfloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
        var generator = new Generator(seed: 5);
        var weight = randn([outFeatures, inFeatures], generator: generator).div(20).to(dtype);
        if (!OneDnnPackedLinear.Supports(weight)) return; // bfloat16 on a CPU without its instructions: OneDnnPackedLinearTests
        var bias = hasBias ? randn([outFeatures], generator: generator).to(dtype) : null;
        var x = randn(shape, generator: generator).to(dtype);
        using var pack = PackedLinearWeight.TryPack(weight)!;
        long rows = shape[..^1].Aggregate(1L, (a, b) => a * b);

        var plain = OneDnnPackedLinear.TryForward(x, rows, pack, bias);
        var padded = PackedLinearRowPadding.OnOneMoreRow(x, rows, pack, bias);

        // Both row counts are signatures this machine's oneDNN serves (KernelSweepTests covers the model shapes).
        Assert.NotNull(plain);
        Assert.NotNull(padded);
        Assert.Equal(plain.shape, padded.shape);
        Assert.True(padded.is_contiguous());
        Assert.True(plain.equal(padded).all().item<bool>(), $"max difference {(plain - padded).abs().max().to(ScalarType.Float32).item<float>()}");
        // And every call through the timed path, while it times both ways and after it has chosen.
        for (int call = 0; call < PackedLinearRowPadding.Trial.UntimedCalls + 2 * PackedLinearRowPadding.Trial.TimedCallsEach + 2; call++)
            Assert.True(plain.equal(PackedLinearRowPadding.TryForward(x, rows, pack, bias)!).all().item<bool>(), $"call {call}");
        Assert.NotNull(PackedLinearRowPadding.PadsRows(rows, inFeatures, outFeatures, dtype));
    }

    [Fact]
    public void Even_row_counts_are_never_padded_or_timed()
    {
        if (!OneDnnPackedLinear.IsAvailable) return;
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        using var pack = PackedLinearWeight.TryPack(randn([192, 64], generator: new Generator(seed: 6)))!;
        var x = randn([2, 3, 64], generator: new Generator(seed: 7));
        PackedLinearRowPadding.TryForward(x, 6, pack, null);
        Assert.Null(PackedLinearRowPadding.PadsRows(6, 64, 192));
    }

    [Theory]
    [InlineData(100, 80, true)]   // 20 % faster on one more row: padded
    [InlineData(100, 98, false)]  // 2 %: within the margin, plain
    [InlineData(100, 120, false)] // slower: plain
    public void A_shape_is_padded_only_if_its_fastest_padded_call_beats_the_plain_one_by_the_margin(int plainMicroseconds, int paddedMicroseconds, bool padded)
    {
        var trial = new PackedLinearRowPadding.Trial();
        var ways = new List<bool>();
        for (int call = 0; trial.Padded is null; call++)
        {
            Assert.True(call < 100, "no decision");
            bool pads = trial.NextIsPadded(out bool timed);
            ways.Add(pads);
            Assert.Equal(call >= PackedLinearRowPadding.Trial.UntimedCalls, timed);
            if (!timed) continue;
            // Every way has one slow call (a busy machine); the fastest counts.
            int extra = call < PackedLinearRowPadding.Trial.UntimedCalls + 2 ? 500 : 0;
            trial.Record(pads, TimeSpan.FromMicroseconds((pads ? paddedMicroseconds : plainMicroseconds) + extra));
        }
        Assert.Equal(padded, trial.Padded);
        Assert.Equal(PackedLinearRowPadding.Trial.UntimedCalls + 2 * PackedLinearRowPadding.Trial.TimedCallsEach, ways.Count);
        Assert.Equal(ways.Count / 2, ways.Count(w => w)); // the two ways alternate
        Assert.Equal(padded, trial.NextIsPadded(out bool timedAfter));
        Assert.False(timedAfter);
    }
}
