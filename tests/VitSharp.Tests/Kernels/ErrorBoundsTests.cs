using VitSharp.Kernels;
using static TorchSharp.torch;

namespace VitSharp.Tests.Kernels;

/// <summary>
/// The tolerances of the kernel checks: wide enough that libtorch's own float32 result sits well inside them against
/// the exact (float64) answer, narrow enough that an error of 0.1 % of a result is caught. The kernels' margins at the
/// real shapes are in KernelSweepTests and docs/kernels.md.
/// </summary>
public class ErrorBoundsTests
{
    public static TheoryData<long, long, long> LinearShapes() => new()
    {
        { 197, 384, 1000 },
        { 8, 3072, 768 },
        { 1, 768, 21843 },
    };

    [Theory]
    [MemberData(nameof(LinearShapes))]
    public void Libtorchs_float32_linear_is_within_half_the_tolerance_of_the_exact_result(long rows, long inFeatures, long outFeatures)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(seed: 41);
        var x = randn([rows, inFeatures], generator: generator);
        var weight = randn([outFeatures, inFeatures], generator: generator);
        var bias = randn([outFeatures], generator: generator);
        var float32 = nn.functional.linear(x, weight, bias);
        var exact = nn.functional.linear(x.to(ScalarType.Float64), weight.to(ScalarType.Float64), bias.to(ScalarType.Float64)).to(ScalarType.Float32);
        var tolerance = ErrorBounds.Linear(x, weight, bias, exact, ScalarType.Float32);
        // The tolerance allows two computations each off by the whole bound: one against the exact answer uses at most half.
        var measure = ErrorBounds.Compare(float32, exact, tolerance);
        Assert.True(measure.WorstRatio <= 0.5, $"{measure.WorstRatio}");
    }

    [Fact]
    public void An_error_of_a_tenth_of_a_percent_in_one_element_is_caught()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(seed: 42);
        var x = randn([197, 384], generator: generator);
        var weight = randn([1000, 384], generator: generator);
        var expected = nn.functional.linear(x, weight);
        var tolerance = ErrorBounds.Linear(x, weight, null, expected, ScalarType.Float32);
        var wrong = expected.clone();
        long at = expected.abs().argmax().item<long>();
        wrong.view(-1)[at] = wrong.view(-1)[at] * 1.001f;
        Assert.True(ErrorBounds.Compare(expected, expected, tolerance).Agrees);
        Assert.False(ErrorBounds.Compare(wrong, expected, tolerance).Agrees);
        wrong.view(-1)[at] = float.NaN;
        Assert.True(double.IsPositiveInfinity(ErrorBounds.Compare(wrong, expected, tolerance).WorstRatio));
    }

    [Theory]
    [InlineData(1, 197, 6, 64)]
    [InlineData(2, 577, 12, 64)]
    [InlineData(3, 50, 4, 16)]
    public void Libtorchs_float32_attention_is_within_half_the_tolerance_of_the_exact_result(long batch, long tokens, int heads, long headDim)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var generator = new Generator(seed: 43);
        long[] shape = [batch, heads, tokens, headDim];
        var (q, k, v) = (randn(shape, generator: generator), randn(shape, generator: generator), randn(shape, generator: generator));
        double scale = 1 / Math.Sqrt(headDim);
        var probabilities = q.mul(scale).matmul(k.transpose(-2, -1)).softmax(-1);
        var float32 = probabilities.matmul(v);
        var (q64, k64, v64) = (q.to(ScalarType.Float64), k.to(ScalarType.Float64), v.to(ScalarType.Float64));
        var exact = q64.mul(scale).matmul(k64.transpose(-2, -1)).softmax(-1).matmul(v64).to(ScalarType.Float32);
        var measure = ErrorBounds.Compare(float32, exact, ErrorBounds.Attention(q, k, v, scale, probabilities));
        Assert.True(measure.WorstRatio <= 0.5, $"{measure.WorstRatio}");
        var wrong = float32.mul(1.001);
        Assert.False(ErrorBounds.Compare(wrong, exact, ErrorBounds.Attention(q, k, v, scale, probabilities)).Agrees);
    }

    [Fact]
    public void Gamma_is_highams_bound()
    {
        Assert.Equal(384 * Math.Pow(2, -24) / (1 - 384 * Math.Pow(2, -24)), ErrorBounds.Gamma(384), 15);
        Assert.Equal(Math.Pow(2, -8), ErrorBounds.OutputRoundoff(ScalarType.BFloat16));
        Assert.Equal(0, ErrorBounds.OutputRoundoff(ScalarType.Float32));
    }
}
