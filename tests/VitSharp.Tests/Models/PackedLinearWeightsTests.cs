using TorchSharp;
using VitSharp.Models;
using VitSharp.Kernels;
using VitSharp.Tests.Models;
using static TorchSharp.torch;

namespace VitSharp.Tests.Models;

/// <summary>
/// <see cref="VisionTransformer.PackLinearWeights"/>: which layers run from their packs and when a pack is given up.
/// Its accuracy against PyTorch is in <see cref="ModelParityTests"/> ("logits (packed linear weights)").
/// </summary>
[Trait("Category", "Kernels")]
public class PackedLinearWeightsTests
{
    /// <summary>A ViT-Ti-wide model (every layer's widths can be packed, the head of 1000 padded to 1152), two blocks, 2×3 patches.</summary>
    internal static VisionTransformer PackableModel() =>
        new(new VitConfig { EmbedDim = 192, Depth = 2, NumHeads = 3, PatchSize = 16, ImgSize = new VitSharp.PosEmbed.GridSize(32, 48), NumClasses = 1000 });

    private static Tensor Input(VisionTransformer model, long images = 2) =>
        randn([images, model.Config.InChans, model.Config.ImgSize.Height, model.Config.ImgSize.Width], generator: new Generator(seed: 3));

    [Fact]
    public void Every_linear_layer_is_packed_and_the_logits_stay_those_of_libtorch()
    {
        if (!OneDnnPackedLinear.IsAvailable) return; // not x86-64: OneDnnPackedLinearTests checks that it must not be there
        using var model = PackableModel();
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var input = Input(model);
        model.LinearKernel = LinearKernel.Blas;
        var expected = model.call(input);
        model.LinearKernel = LinearKernel.OneDnn; // at any size: these layers are below Auto's limit

        Assert.Equal(4 * model.Config.Depth + 1, model.PackLinearWeights());
        Assert.Equal(4 * model.Config.Depth + 1, model.PackedLinearLayers);
        Fixtures.AssertClose(model.call(input), expected, "packed logits");
        model.call(input);
        Assert.Equal(4 * model.Config.Depth + 1, ProfiledLinears.RanPacked(model));
    }

    [Fact]
    public void Packs_are_given_up_by_train_load_state_dict_and_a_new_dtype_and_unused_with_gradients()
    {
        if (!OneDnnPackedLinear.IsAvailable) return;
        using var model = PackableModel();
        model.LinearKernel = LinearKernel.OneDnn;
        using var scope = NewDisposeScope();
        var input = Input(model);

        Assert.True(model.PackLinearWeights() > 0);
        // With gradients the packed product (which has none) must not run: the loss must reach the weights.
        model.call(input).sum().backward();
        Assert.Equal(0, ProfiledLinears.RanPacked(model));
        Assert.All(model.parameters().Where(p => p.requires_grad), p => Assert.NotNull(p.grad));
        Assert.True(RunsPacked(model, input));

        model.train();
        Assert.False(RunsPacked(model, input));
        model.eval();
        Assert.True(model.PackLinearWeights() > 0);
        model.load_state_dict(model.state_dict());
        Assert.False(RunsPacked(model, input));

        // A dtype round trip gives the layers new weight tensors: the old packs must not serve them.
        Assert.True(model.PackLinearWeights() > 0);
        model.to(ScalarType.Float64).to(ScalarType.Float32);
        Assert.False(RunsPacked(model, input));

        Assert.True(model.PackLinearWeights() > 0);
        model.UnpackLinearWeights();
        Assert.False(RunsPacked(model, input));
    }

    [Fact]
    public void A_model_that_cannot_be_packed_is_left_as_it_was()
    {
        using var model = PackableModel();
        model.to(ScalarType.Float64);
        Assert.Equal(0, model.PackLinearWeights());
        using var _ = inference_mode();
        using var logits = model.call(Input(model).to(ScalarType.Float64));
        Assert.Equal(ScalarType.Float64, logits.dtype);
    }

    [Fact]
    public void A_bfloat16_model_is_packed_where_the_cpu_has_bfloat16_instructions_and_runs_packed_from_its_row_limit()
    {
        using var model = PackableModel();
        model.to(ScalarType.BFloat16);
        int layers = 4 * model.Config.Depth + 1;
        bool packs = OneDnnPackedLinear.IsAvailable && CpuFeatures.OneDnnRunsBfloat16();
        Assert.Equal(packs ? layers : 0, model.PackLinearWeights());
        if (!packs) return;
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        long tokens = model.Config.GridSize.Count + model.NumPrefixTokens;
        long imagesAtLimit = (KernelSelection.AutoPackedMinRowsBfloat16 + tokens - 1) / tokens;
        var fewer = Input(model, imagesAtLimit - 1).to(ScalarType.BFloat16);
        var enough = Input(model, imagesAtLimit).to(ScalarType.BFloat16);

        Assert.False(RunsPacked(model, fewer)); // under Auto, too few rows for bfloat16's packed product to pay
        Assert.True(RunsPacked(model, enough));
        var packedLogits = model.call(enough);
        model.UnpackLinearWeights();
        var unpackedLogits = model.call(enough);
        // bfloat16 keeps 8 bits: the two round apart here and there.
        double scale = unpackedLogits.to(ScalarType.Float32).abs().max().item<float>();
        Fixtures.AssertClose(packedLogits, unpackedLogits, "bfloat16 logits, packed against unpacked", 0.05 * scale);
        Assert.True(packedLogits.argmax(-1).equal(unpackedLogits.argmax(-1)).all().item<bool>(), "the same top-1 class for every image");
    }

    private static bool RunsPacked(VisionTransformer model, Tensor input)
    {
        using (inference_mode()) model.call(input).Dispose();
        return ProfiledLinears.RanPacked(model) > 0;
    }
}
