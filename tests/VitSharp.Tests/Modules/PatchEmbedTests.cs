using VitSharp.Modules;
using static TorchSharp.torch;

namespace VitSharp.Tests.Modules;

public class PatchEmbedTests
{
    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void Patchify_matches_the_seeds_einops_layout(int patch)
    {
        using var file = Fixtures.Tensors("patchify.safetensors");
        using var input = file.Get("input");
        using var expected = file.Get($"patches_p{patch}");
        using var actual = LinearPatchEmbed.Patchify(input, patch);
        Assert.Equal(0, Fixtures.MaxAbsDiff(actual, expected));
    }

    [Fact]
    public void Conv_and_linear_embeddings_give_the_same_tokens_after_conversion()
    {
        using var conv = new PatchEmbed(3, 8, 16);
        using var linear = new LinearPatchEmbed(3, 8, 16);
        using (no_grad())
        {
            linear.Proj.weight!.copy_(LinearPatchEmbed.WeightFromConv(conv.Proj.weight!));
            linear.Proj.bias!.copy_(conv.Proj.bias!);
        }
        using var x = randn(2, 3, 24, 40);
        Fixtures.AssertClose(linear.call(x), conv.call(x), "linear vs conv tokens", 1e-5);
        using var back = LinearPatchEmbed.WeightToConv(linear.Proj.weight!, 3, 8);
        Assert.Equal(0, Fixtures.MaxAbsDiff(back, conv.Proj.weight!));
    }
}
