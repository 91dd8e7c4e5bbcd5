using TorchSharp;
using System.Runtime.InteropServices;
using VitSharp.Kernels;
using static TorchSharp.torch;

namespace VitSharp.Tests.Kernels;

[Trait("Category", "Kernels")]
public class LinearLayerTests
{
    [Fact]
    public void OneDnn_is_available_on_x86_64()
    {
        // On x86-64 libtorch always has oneDNN: a false here means the route broke (and Auto silently fell back to the
        // slower BLAS), not that the machine lacks it.
        Assert.Equal(RuntimeInformation.ProcessArchitecture == Architecture.X64, OneDnnLinear.IsAvailable);
    }

    [Fact]
    public void It_has_the_keys_shapes_and_initialisation_of_torch_nn_linear()
    {
        using var layer = new LinearLayer(96, 160);
        Assert.Equal(["weight", "bias"], layer.state_dict().Keys);
        Assert.Equal([160L, 96], layer.Weight.shape);
        Assert.Equal([160L], layer.Bias!.shape);
        double bound = 1 / Math.Sqrt(96);
        Assert.True(layer.Weight.abs().max().item<float>() <= bound && layer.Bias.abs().max().item<float>() <= bound);
        using var noBias = new LinearLayer(96, 160, hasBias: false);
        Assert.Equal(["weight"], noBias.state_dict().Keys);
        Assert.Null(noBias.Bias);
    }

    [Fact]
    public void A_new_dtype_moves_its_parameters_and_retires_its_pack()
    {
        using var layer = new LinearLayer(64, 192);
        bool packed = layer.Pack();
        Assert.Equal(OneDnnPackedLinear.IsAvailable, packed);
        layer.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, layer.Weight.dtype);
        Assert.Equal(ScalarType.Float64, layer.state_dict()["bias"].dtype);
        Assert.False(layer.IsPacked);
        using var _ = inference_mode();
        using var x = randn([3, 64], dtype: ScalarType.Float64);
        using var y = layer.call(x);
        Fixtures.AssertClose(y, nn.functional.linear(x, layer.Weight, layer.Bias), "float64 output");
    }

    [Fact]
    public void A_wrong_input_width_is_refused_with_the_shapes()
    {
        using var layer = new LinearLayer(64, 32);
        using var x = zeros(2, 63);
        var message = Assert.Throws<ArgumentException>(() => layer.call(x)).Message;
        Assert.Contains("64 input features takes [..., 64], not [2, 63]", message);
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
    public void Every_kernel_gives_libtorchs_linear_in_value_and_gradients(long[] shape, bool hasBias, bool transposed)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(seed: 5); // not the global one, which tests running in parallel share
        using var layer = new LinearLayer(96, 160, hasBias: hasBias);
        using (no_grad())
        {
            layer.Weight.copy_(randn([160, 96], generator: generator).div(10));
            layer.Bias?.copy_(randn([160], generator: generator));
        }
        var x = transposed ? randn([shape[0], shape[2], shape[1]], generator: generator).transpose(1, 2) : randn(shape, generator: generator);
        Assert.Equal(!transposed, x.is_contiguous());

        var (expected, expectedGrads) = OutputAndGradients(layer, x, LinearKernel.Blas);
        foreach (var kernel in new[] { LinearKernel.OneDnn, LinearKernel.Auto })
        {
            var (actual, grads) = OutputAndGradients(layer, x, kernel);
            Assert.Equal(kernel == LinearKernel.OneDnn && OneDnnLinear.IsAvailable ? KernelSelection.LinearPath.OneDnn : KernelSelection.LinearPath.Reference, layer.LastPath);
            Assert.Equal(expected.shape, actual.shape);
            Fixtures.AssertClose(actual, expected, $"{kernel} output");
            Assert.Equal(expectedGrads.Count, grads.Count);
            // Float32 sums in another order: errors grow with the magnitude (the bias gradient sums up to 300 rows).
            foreach (var (name, grad) in grads)
                Fixtures.AssertClose(grad, expectedGrads[name], $"{kernel} gradient of {name}", 1e-5 * Math.Max(1, expectedGrads[name].abs().max().item<float>()));
        }
    }

    private static (Tensor Output, Dictionary<string, Tensor> Grads) OutputAndGradients(LinearLayer layer, Tensor x, LinearKernel kernel)
    {
        layer.Kernel = kernel;
        layer.zero_grad();
        var input = x.detach().requires_grad_(true);
        var output = layer.call(input);
        output.sin().sum().backward();
        var grads = new Dictionary<string, Tensor> { ["input"] = input.grad!.clone(), ["weight"] = layer.Weight.grad!.clone() };
        if (layer.Bias is { } bias) grads["bias"] = bias.grad!.clone();
        return (output.detach(), grads);
    }

    [Fact]
    public void Its_hooks_fire_on_every_path()
    {
        using var scope = NewDisposeScope();
        using var layer = new LinearLayer(384, 1152);
        layer.eval();
        int calls = 0;
        var hook = layer.register_forward_hook(_ => calls++);
        var x = randn([1, 197, 384], generator: new Generator(seed: 9));
        var paths = new HashSet<KernelSelection.LinearPath>();
        using (inference_mode())
        {
            foreach (var kernel in Enum.GetValues<LinearKernel>())
            {
                layer.Kernel = kernel;
                layer.call(x);
                paths.Add(layer.LastPath);
            }
            layer.Pack();
            layer.Kernel = LinearKernel.Auto;
            layer.call(x);
            paths.Add(layer.LastPath);
        }
        hook.remove();
        Assert.Equal(4, calls);
        var expected = new HashSet<KernelSelection.LinearPath> { KernelSelection.LinearPath.Reference };
        if (OneDnnLinear.IsAvailable) expected.Add(KernelSelection.LinearPath.OneDnn);
        if (OneDnnPackedLinear.IsAvailable) expected.Add(KernelSelection.LinearPath.Packed);
        Assert.Equal(expected, paths);
    }

    [Fact]
    public void Train_and_load_state_dict_drop_the_pack()
    {
        if (!OneDnnPackedLinear.IsAvailable) return;
        using var layer = new LinearLayer(64, 192);
        Assert.True(layer.Pack());
        layer.train();
        Assert.False(layer.IsPacked);
        layer.eval();
        Assert.True(layer.Pack());
        layer.load_state_dict(layer.state_dict());
        Assert.False(layer.IsPacked);
    }
}
