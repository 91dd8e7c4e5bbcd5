using VitSharp.Kernels;
using VitSharp.Modules;
using static TorchSharp.torch;

namespace VitSharp.Tests.Modules;

[Trait("Category", "Kernels")]
public class AttentionTests
{
    [Theory]
    [InlineData(50)]
    [InlineData(101)]
    public void Every_kernel_gives_the_same_output_and_input_gradient(int tokens)
    {
        using var attention = new Attention(64, 4, qkvBias: true, attnDropRate: 0, projDropRate: 0);
        attention.train();
        manual_seed(3);
        using var x = randn(3, tokens, 64);
        var results = new Dictionary<AttentionKernel, (Tensor Output, Tensor Grad)>();
        foreach (var kernel in Enum.GetValues<AttentionKernel>())
        {
            attention.Kernel = kernel;
            using var input = x.clone().requires_grad_(true);
            var output = attention.call(input);
            output.square().sum().backward();
            results[kernel] = (output.detach(), input.grad!.clone());
        }
        foreach (var kernel in new[] { AttentionKernel.Auto, AttentionKernel.Math, AttentionKernel.OneDnn })
        {
            Fixtures.AssertClose(results[kernel].Output, results[AttentionKernel.Fused].Output, $"{kernel} output", 1e-5);
            Fixtures.AssertClose(results[kernel].Grad, results[AttentionKernel.Fused].Grad, $"{kernel} input gradient", 1e-4);
        }
    }
}
