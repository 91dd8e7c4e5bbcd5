using System.Text.Json.Nodes;
using VitSharp.IO;
using VitSharp.Models;
using VitSharp.Kernels;
using VitSharp.Modules;
using VitSharp.Weights;
using static TorchSharp.torch;

namespace VitSharp.Tests.Models;

/// <summary>
/// Whole small ViTs with random weights, run by PyTorch reference code (DINO's VisionTransformer, torchvision's,
/// the seed's) at the native size and at other sizes including non-square ones: VitSharp must give the same
/// logits, class-token features, last-block attention and intermediate layers within 1e-5.
/// </summary>
[Trait("Category", "Kernels")]
public class ModelParityTests
{
    private static readonly string[] CaseNames =
        [.. Directory.GetFiles(Fixtures.Path_("models"), "*.json").Select(f => Path.GetFileNameWithoutExtension(f)).Order()];

    public static TheoryData<string, string> CasesAndSizes()
    {
        var data = new TheoryData<string, string>();
        foreach (string name in CaseNames)
            foreach (var size in Fixtures.Json("models", $"{name}.json")["sizes"]!.AsArray())
                data.Add(name, $"{size![0]}x{size[1]}");
        return data;
    }

    internal static VisionTransformer LoadModel(string name)
    {
        var config = VitConfigJson.Read(Fixtures.Path_("models", $"{name}.json"));
        var model = new VisionTransformer(config);
        using (var weights = Fixtures.Tensors("models", $"{name}.weights.safetensors"))
        {
            var report = StateDictLoader.Load(model, weights.ToDictionary(), strict: true);
            Assert.True(report.IsClean, report.Describe());
        }
        model.eval();
        return model;
    }

    /// <summary>Max |error| of each output the fixture has for this input size (the fused and explicit attention paths, and forward with <see cref="VisionTransformer.FusedAttention"/> off).</summary>
    internal static Dictionary<string, double> MeasureErrors(string name, VisionTransformer model, SafeTensorsFile io, string size)
    {
        var outputs = Fixtures.Json("models", $"{name}.json")["outputs"]!.AsArray().Select(o => o!.GetValue<string>()).ToHashSet();
        var errors = new Dictionary<string, double>();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var input = io.Get($"input.{size}");
        var (features, attention) = model.ForwardFeaturesWithAttention(input);
        if (outputs.Contains("logits"))
        {
            errors["logits"] = Fixtures.MaxAbsDiff(model.ForwardHead(features), io.Get($"logits.{size}"));
            errors["logits (fused attention)"] = Fixtures.MaxAbsDiff(model.call(input), io.Get($"logits.{size}"));
            model.FusedAttention = false;
            errors["logits (math attention in forward)"] = Fixtures.MaxAbsDiff(model.call(input), io.Get($"logits.{size}"));
            model.FusedAttention = true;
            // These models are small enough that LinearKernel.Auto keeps libtorch's linear; oneDNN's is checked forced.
            model.LinearKernel = LinearKernel.OneDnn;
            errors["logits (oneDNN linear layers)"] = Fixtures.MaxAbsDiff(model.call(input), io.Get($"logits.{size}"));
            // Packed weights, forced to run at any size as well (Auto would leave these small products to BLAS).
            if (model.PackLinearWeights() > 0)
            {
                errors["logits (packed linear weights)"] = Fixtures.MaxAbsDiff(model.call(input), io.Get($"logits.{size}"));
                if (outputs.Contains("last_selfattention"))
                    errors["last_selfattention (packed linear weights)"] = Fixtures.MaxAbsDiff(model.GetLastSelfAttention(input), io.Get($"last_selfattention.{size}"));
                model.UnpackLinearWeights();
            }
            model.LinearKernel = LinearKernel.Auto;
            model.AttentionKernel = AttentionKernel.OneDnn;
            errors["logits (oneDNN attention)"] = Fixtures.MaxAbsDiff(model.call(input), io.Get($"logits.{size}"));
            model.AttentionKernel = AttentionKernel.Auto;
        }
        if (outputs.Contains("cls_features"))
            errors["cls_features"] = Fixtures.MaxAbsDiff(model.ForwardHead(features, preLogits: true), io.Get($"cls_features.{size}"));
        if (outputs.Contains("last_selfattention"))
        {
            errors["last_selfattention"] = Fixtures.MaxAbsDiff(attention, io.Get($"last_selfattention.{size}"));
            errors["GetLastSelfAttention"] = Fixtures.MaxAbsDiff(model.GetLastSelfAttention(input), io.Get($"last_selfattention.{size}"));
        }
        if (outputs.Contains("intermediate"))
            errors["intermediate"] = Fixtures.MaxAbsDiff(stack(model.GetIntermediateLayers(input, n: 2)), io.Get($"intermediate.{size}"));
        return errors;
    }

    [Theory]
    [MemberData(nameof(CasesAndSizes))]
    public void Outputs_match_pytorch(string name, string size)
    {
        using var model = LoadModel(name);
        using var io = Fixtures.Tensors("models", $"{name}.io.safetensors");
        var errors = MeasureErrors(name, model, io, size);
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.True(e.Value <= Fixtures.Tolerance, $"{name} {e.Key} at {size}: max |error| {e.Value:E3}"));
    }

    [Fact]
    public void Every_case_was_checked_at_a_non_square_or_other_size()
    {
        Assert.NotEmpty(CaseNames);
        foreach (string name in CaseNames)
            Assert.True(Fixtures.Json("models", $"{name}.json")["sizes"]!.AsArray().Count >= 2, $"{name} has only its native size");
    }

    [Fact]
    public void The_seeds_naive_slicing_is_not_what_the_resampled_model_computes()
    {
        // The seed adds position_embeddings[:, :x.size(1)] : at 24x24 that takes the first 10 rows of a 4x4 layout.
        using var model = LoadModel("vit_seed");
        using var io = Fixtures.Tensors("models", "vit_seed.io.safetensors");
        using var _ = no_grad();
        using var logits = model.call(io.Get("input.24x24"));
        Fixtures.AssertClose(logits, io.Get("logits.24x24"), "seed resampled at 24x24");
        Assert.True(Fixtures.MaxAbsDiff(logits, io.Get("naive_logits.24x24")) > 1e-2);
    }
}
