using System.Runtime.InteropServices;
using VitSharp.Modules;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Tests.Modules;

public class LinearKernelTests
{
    [Fact]
    public void OneDnn_is_available_on_x86_64()
    {
        // The probe compiles the TorchScript and checks one product; on x86-64 libtorch always has oneDNN, so a false
        // here means the route broke (and Auto silently fell back to the slower BLAS), not that the machine lacks it.
        Assert.Equal(RuntimeInformation.ProcessArchitecture == Architecture.X64, OneDnnLinear.IsAvailable);
    }

    public static TheoryData<long[], bool, bool> Shapes() => new()
    {
        { [300, 96], true, false },
        { [4, 50, 96], false, false },
        { [4, 50, 96], true, true }, // a transposed, non-contiguous input
        { [1, 96], true, false },
        { [2, 3, 5, 96], true, false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void OneDnn_gives_libtorchs_linear_in_value_and_gradients(long[] shape, bool hasBias, bool transposed)
    {
        if (!OneDnnLinear.IsAvailable) return; // not x86-64: the test above has checked that it must not be there
        using var scope = NewDisposeScope();
        var generator = new Generator(seed: 5); // not the global one, which tests running in parallel share
        var layer = nn.Linear(96, 160, hasBias: hasBias);
        using (no_grad())
        {
            layer.weight!.copy_(randn([160, 96], generator: generator).div(10));
            layer.bias?.copy_(randn([160], generator: generator));
        }
        var x = transposed ? randn([shape[0], shape[2], shape[1]], generator: generator).transpose(1, 2) : randn(shape, generator: generator);
        Assert.Equal(!transposed, x.is_contiguous());

        var (expected, expectedGrads) = OutputAndGradients(layer, x, LinearKernel.Blas);
        Assert.True(LinearKernels.UsesOneDnn(LinearKernel.OneDnn, layer, x, LinearKernels.Rows(x.shape)));
        var (actual, grads) = OutputAndGradients(layer, x, LinearKernel.OneDnn);

        Assert.Equal(expected.shape, actual.shape);
        Fixtures.AssertClose(actual, expected, "output");
        Assert.Equal(expectedGrads.Count, grads.Count);
        // Float32 sums in another order: errors grow with the magnitude (the bias gradient sums up to 300 rows).
        foreach (var (name, grad) in grads)
            Fixtures.AssertClose(grad, expectedGrads[name], $"gradient of {name}", 1e-5 * Math.Max(1, expectedGrads[name].abs().max().item<float>()));
    }

    private static (Tensor Output, Dictionary<string, Tensor> Grads) OutputAndGradients(TorchSharp.Modules.Linear layer, Tensor x, LinearKernel kernel)
    {
        layer.zero_grad();
        var input = x.detach().requires_grad_(true);
        var output = layer.Apply(input, kernel);
        output.sin().sum().backward();
        var grads = new Dictionary<string, Tensor> { ["input"] = input.grad!.clone(), ["weight"] = layer.weight!.grad!.clone() };
        if (layer.bias is { } bias) grads["bias"] = bias.grad!.clone();
        return (output.detach(), grads);
    }

    [Fact]
    public void Auto_gives_oneDNN_only_products_that_repay_its_cost_per_call()
    {
        if (!OneDnnLinear.IsAvailable) return; // not x86-64: the test above has checked that it must not be there
        using var layer = nn.Linear(256, 512); // 131,072 multiply-adds per row: the limit is at 64 rows
        Assert.Equal(LinearKernels.AutoOneDnnMinMultiplyAdds, 64 * 256 * 512);
        using var atLimit = zeros(4, 16, 256);
        using var belowRows = zeros(3, 21, 256); // 63 rows
        Assert.True(LinearKernels.UsesOneDnn(LinearKernel.Auto, layer, atLimit, 64));
        Assert.False(LinearKernels.UsesOneDnn(LinearKernel.Auto, layer, belowRows, 63));
        using var narrow = nn.Linear(256, 511); // at 64 rows, one output short of the multiply-add limit
        Assert.False(LinearKernels.UsesOneDnn(LinearKernel.Auto, narrow, atLimit, 64));
        Assert.True(LinearKernels.UsesOneDnn(LinearKernel.Auto, narrow, zeros(1, 65, 256), 65));
        // Forced, any size goes to oneDNN; never in another precision or for BLAS.
        Assert.True(LinearKernels.UsesOneDnn(LinearKernel.OneDnn, layer, belowRows, 63));
        Assert.False(LinearKernels.UsesOneDnn(LinearKernel.Blas, layer, atLimit, 64));
        using var bf16Layer = nn.Linear(256, 512, dtype: ScalarType.BFloat16);
        Assert.False(LinearKernels.UsesOneDnn(LinearKernel.OneDnn, bf16Layer, atLimit.to(ScalarType.BFloat16), 64));
        Assert.Equal(64, LinearKernels.Rows([4, 16, 256]));
    }
}
