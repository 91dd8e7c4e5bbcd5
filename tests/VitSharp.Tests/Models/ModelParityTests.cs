using System.Text.Json.Nodes;
using VitSharp.Models;
using VitSharp.Weights;
using static TorchSharp.torch;

namespace VitSharp.Tests.Models;

/// <summary>
/// Whole small ViTs with random weights, run by PyTorch reference code (DINO's VisionTransformer, torchvision's,
/// the seed's) at the native size and at other sizes including non-square ones: VitSharp must give the same
/// logits, class-token features, last-block attention and intermediate layers within 1e-5.
/// </summary>
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

    [Theory]
    [MemberData(nameof(CasesAndSizes))]
    public void Outputs_match_pytorch(string name, string size)
    {
        var outputs = Fixtures.Json("models", $"{name}.json")["outputs"]!.AsArray().Select(o => o!.GetValue<string>()).ToHashSet();
        using var model = LoadModel(name);
        using var io = Fixtures.Tensors("models", $"{name}.io.safetensors");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var input = io.Get($"input.{size}");

        var (features, attention) = model.ForwardFeaturesWithAttention(input);
        if (outputs.Contains("logits"))
        {
            Fixtures.AssertClose(model.ForwardHead(features), io.Get($"logits.{size}"), $"{name} logits at {size}");
            Fixtures.AssertClose(model.call(input), io.Get($"logits.{size}"), $"{name} logits (fused attention) at {size}");
        }
        if (outputs.Contains("cls_features"))
            Fixtures.AssertClose(model.ForwardHead(features, preLogits: true), io.Get($"cls_features.{size}"), $"{name} cls_features at {size}");
        if (outputs.Contains("last_selfattention"))
        {
            Fixtures.AssertClose(attention, io.Get($"last_selfattention.{size}"), $"{name} last_selfattention at {size}");
            Fixtures.AssertClose(model.GetLastSelfAttention(input), io.Get($"last_selfattention.{size}"), $"{name} GetLastSelfAttention at {size}");
        }
        if (outputs.Contains("intermediate"))
        {
            var layers = model.GetIntermediateLayers(input, n: 2);
            Fixtures.AssertClose(stack(layers), io.Get($"intermediate.{size}"), $"{name} intermediate at {size}");
        }
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
