using System.Runtime.InteropServices;
using VitSharp.Kernels;
using static TorchSharp.torch;

namespace VitSharp.Tests.Kernels;

[Trait("Category", "Kernels")]
public class OneDnnPackedLinearTests
{
    [Fact]
    public void Packing_is_available_on_x86_64()
    {
        // On x86-64 libtorch always has oneDNN and the AOTInductor exports: a false here means the route broke (and the
        // packed path silently went away), not that the machine lacks it.
        Assert.Equal(RuntimeInformation.ProcessArchitecture == Architecture.X64, OneDnnPackedLinear.IsAvailable);
    }

    public static TheoryData<long[], bool, bool> Cases() => new()
    {
        { [197, 384], true, false },
        { [2, 197, 384], true, false },
        { [3, 5, 384], false, false },
        { [4, 50, 384], true, true }, // a transposed, non-contiguous input
        { [1, 384], true, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_packed_product_is_libtorchs_linear(long[] shape, bool hasBias, bool transposed)
    {
        if (!OneDnnPackedLinear.IsAvailable) return; // not x86-64: the test above has checked that it must not be there
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var generator = new Generator(seed: 11); // not the global one, which tests running in parallel share
        var weight = randn([1152, 384], generator: generator).div(20);
        var bias = hasBias ? randn([1152], generator: generator) : null;
        var x = transposed ? randn([shape[0], shape[2], shape[1]], generator: generator).transpose(1, 2) : randn(shape, generator: generator);
        Assert.Equal(!transposed, x.is_contiguous());
        long rows = shape[..^1].Aggregate(1L, (a, b) => a * b);

        var expected = nn.functional.linear(x, weight, bias);
        using var pack = PackedLinearWeight.TryPack(weight)!;
        var actual = OneDnnPackedLinear.TryForward(x, rows, pack, bias);

        Assert.NotNull(actual); // this machine's oneDNN reproduces libtorch at this shape: KernelSweepTests covers the rest
        Assert.Equal(expected.shape, actual.shape);
        // Float32 sums of 384 products in another order; |y| reaches about 5.
        Fixtures.AssertClose(actual, expected, "packed product", 2e-5);
    }

    [Fact]
    public void A_pack_is_a_copy_taken_when_it_is_made_and_serves_only_its_weight_at_its_thread_count()
    {
        if (!OneDnnPackedLinear.IsAvailable) return;
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var weight = ones(1000, 64);
        var x = ones(2, 64);
        using var pack = PackedLinearWeight.TryPack(weight)!;
        weight.mul_(2);
        // 1000 outputs, padded to 1152 inside the pack: the result has the 1000, each the sum of the weight as packed.
        Fixtures.AssertClose(OneDnnPackedLinear.TryForward(x, 2, pack, null)!, full(2, 1000, 64f), "the weight as it was packed");
        Assert.True(pack.Serves(weight));
        Assert.False(pack.Serves(ones(1000, 64)));
        Assert.Equal(get_num_threads(), pack.Threads);
        Assert.Equal((1000L, 64L, ScalarType.Float32), (pack.OutFeatures, pack.InFeatures, pack.DType));
    }

    [Fact]
    public void Bfloat16_weights_are_packed_only_where_the_cpu_has_bfloat16_instructions_and_oneDNN_may_use_them()
    {
        // Elsewhere oneDNN would emulate them, slower than libtorch's own bfloat16 path; under a lower
        // ONEDNN_MAX_CPU_ISA libtorch refuses to pack them at all (and logs its C++ frames doing so).
        using var weight = ones(192, 64, dtype: ScalarType.BFloat16);
        string? cap = Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA");
        bool capAllows = cap is null || cap.StartsWith("AVX512_CORE_BF16", StringComparison.OrdinalIgnoreCase) || cap.StartsWith("AVX512_CORE_AMX", StringComparison.OrdinalIgnoreCase);
        Assert.Equal(OneDnnPackedLinear.IsAvailable && CpuFeatures.HasBf16Instructions() == true && capAllows, OneDnnPackedLinear.Supports(weight));
        if (OneDnnPackedLinear.Supports(weight)) OneDnnPackedLinear.Pack(weight).Dispose();
    }

    [Fact]
    public void A_bfloat16_packed_product_is_libtorchs_to_bfloat16_precision()
    {
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var generator = new Generator(seed: 12);
        var weight = randn([1536, 384], generator: generator).div(20);
        var bias = randn([1536], generator: generator);
        var x = randn([2, 197, 384], generator: generator);
        var (weight16, bias16, x16) = (weight.to(ScalarType.BFloat16), bias.to(ScalarType.BFloat16), x.to(ScalarType.BFloat16));
        if (!OneDnnPackedLinear.Supports(weight16)) return; // the test above checks where it must be

        using var pack = PackedLinearWeight.TryPack(weight16)!;
        var actual = OneDnnPackedLinear.TryForward(x16, 394, pack, bias16);
        Assert.NotNull(actual);
        var expected = nn.functional.linear(x16, weight16, bias16);

        Assert.Equal(ScalarType.BFloat16, actual.dtype);
        // |y| reaches about 6, where a bfloat16 step is 1/32: one step apart at most (sums in another order).
        Fixtures.AssertClose(actual, expected, "bfloat16 packed product", 1.0 / 32);
        // Against float32 arithmetic on the same bfloat16 operands, both are as close as bfloat16 allows.
        var exact = nn.functional.linear(x16.to(ScalarType.Float32), weight16.to(ScalarType.Float32), bias16.to(ScalarType.Float32));
        Fixtures.AssertClose(actual, exact, "bfloat16 packed product against float32", 1.0 / 32);
    }

    [Fact]
    public void Weights_that_cannot_be_packed_are_refused_with_the_reason()
    {
        if (!OneDnnPackedLinear.IsAvailable) return;
        using var scope = NewDisposeScope();
        Assert.Null(PackedLinearWeight.TryPack(ones(192, 64, dtype: ScalarType.Float64)));
        Assert.Null(PackedLinearWeight.TryPack(ones(2, 192, 64)));
        Assert.Null(PackedLinearWeight.TryPack(ones(192, 40))); // an input width oneDNN would pad
        Assert.Null(PackedLinearWeight.TryPack(ones(100, 64))); // an output width that would need 92 % more to pad
        Assert.Contains("2-D float32 CPU weight", Assert.Throws<ArgumentException>(() => OneDnnPackedLinear.Pack(ones(192, 64, dtype: ScalarType.Float64))).Message);
        Assert.Contains("multiple of 64", Assert.Throws<ArgumentException>(() => OneDnnPackedLinear.Pack(ones(192, 40))).Message);
    }
}
