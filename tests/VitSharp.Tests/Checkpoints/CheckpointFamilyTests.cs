using System.Text.Json.Nodes;
using VitSharp.Checkpoints;
using VitSharp.Weights;
using static TorchSharp.torch;

namespace VitSharp.Tests.Checkpoints;

/// <summary>
/// One tiny ViT's weights written by PyTorch under every naming family (timm, DeiT, DINO, DINOv2, torchvision,
/// Hugging Face) and file format (safetensors F32/F16/BF16, zip and legacy .pth, training checkpoints with
/// wrappers): VitSharp must detect the family, infer the architecture, and give PyTorch's outputs at the native
/// size and at a non-square one (tests/fixtures/checkpoints/manifest.json, tools/fixtures/generate_checkpoints.py).
/// </summary>
public class CheckpointFamilyTests
{
    private static readonly JsonNode Manifest = Fixtures.Json("checkpoints", "manifest.json");

    private static JsonNode Case(string id) => Manifest["cases"]!.AsArray().Single(c => c!["id"]!.GetValue<string>() == id)!;

    private static IEnumerable<JsonNode> Cases(string expect) =>
        Manifest["cases"]!.AsArray().Select(c => c!).Where(c => c["expect"]!.GetValue<string>() == expect);

    public static TheoryData<string> LoadableCases() => [.. Cases("ok").Select(c => c["id"]!.GetValue<string>())];

    public static TheoryData<string> BrokenCases() => [.. Cases("error").Select(c => c["id"]!.GetValue<string>())];

    /// <summary>What the file cannot say (the manifest's <c>not_in_file</c>) is given as the caller would give it.</summary>
    internal static CheckpointLoadOptions OptionsFor(JsonNode c)
    {
        var notInFile = c["not_in_file"]!.AsArray().Select(n => n!.GetValue<string>()).ToHashSet();
        return new CheckpointLoadOptions
        {
            Hints = notInFile.Contains("num_heads") ? new ArchitectureHints { NumHeads = c["config"]!["num_heads"]!.GetValue<int>() } : null,
        };
    }

    internal static string PathOf(JsonNode c) => Fixtures.Path_("checkpoints", c["file"]!.GetValue<string>());

    /// <summary>Max |error| against PyTorch at each fixture size of the case.</summary>
    internal static Dictionary<string, double> MeasureErrors(JsonNode c, LoadedCheckpoint loaded)
    {
        using var io = Fixtures.Tensors("checkpoints", c["io_file"]!.GetValue<string>());
        string output = c["outputs"]!.GetValue<string>();
        var errors = new Dictionary<string, double>();
        using var _ = no_grad();
        foreach (var size in c["sizes"]!.AsArray())
        {
            string key = $"{size![0]}x{size[1]}";
            using var scope = NewDisposeScope();
            var input = io.Get($"input.{key}");
            var actual = output == "logits" ? loaded.Model.call(input) : loaded.Model.ForwardHead(loaded.Model.ForwardFeatures(input), preLogits: true);
            errors[key] = Fixtures.MaxAbsDiff(actual, io.Get($"{output}.{key}"));
        }
        return errors;
    }

    [Theory]
    [MemberData(nameof(LoadableCases))]
    public void Every_family_and_format_gives_pytorchs_outputs(string id)
    {
        var c = Case(id);
        using var loaded = CheckpointLoader.Load(PathOf(c), OptionsFor(c));
        Assert.True(loaded.Report.IsClean, loaded.Report.Describe());
        Assert.Equal(c["format"]!.GetValue<string>(), loaded.Summary.Format);
        Assert.Equal(c["family"]!.GetValue<string>(), loaded.Summary.Family.Name());
        var errors = MeasureErrors(c, loaded);
        Assert.Equal(c["sizes"]!.AsArray().Count, errors.Count);
        Assert.All(errors, e => Assert.True(e.Value <= Fixtures.Tolerance, $"{id} at {e.Key}: max |error| {e.Value:E3}"));
    }

    [Theory]
    [MemberData(nameof(LoadableCases))]
    public void The_architecture_is_inferred_as_pytorch_built_it(string id)
    {
        var c = Case(id);
        var expected = c["config"]!;
        var a = CheckpointLoader.Inspect(PathOf(c), OptionsFor(c)).Architecture;
        Assert.Equal(expected["embed_dim"]!.GetValue<int>(), a.EmbedDim);
        Assert.Equal(expected["depth"]!.GetValue<int>(), a.Depth);
        Assert.Equal(expected["num_heads"]!.GetValue<int>(), a.NumHeads);
        Assert.Equal(expected["patch_size"]!.GetValue<int>(), a.PatchSize);
        Assert.Equal(expected["img_size"]![0]!.GetValue<int>(), a.ImgSize.Height);
        Assert.Equal(expected["img_size"]![1]!.GetValue<int>(), a.ImgSize.Width);
        Assert.Equal(expected["num_classes"]!.GetValue<int>(), a.NumClasses);
        Assert.Equal(expected["mlp_ratio"]!.GetValue<double>(), a.MlpRatio);
        Assert.Equal(expected["reg_tokens"]!.GetValue<int>(), a.RegTokens);
        Assert.Equal(expected["class_token"]!.GetValue<bool>(), a.ClassToken);
        Assert.Equal(expected["init_values"]!.GetValue<bool>(), a.InitValues is not null);
        Assert.Equal(expected["qkv_bias"]!.GetValue<bool>(), a.QkvBias);
        Assert.Equal(expected["layer_norm_eps"]?.GetValue<double>() ?? 1e-6, a.LayerNormEps);
    }

    [Theory]
    [MemberData(nameof(BrokenCases))]
    public void Broken_or_unsupported_checkpoints_are_refused_by_name(string id)
    {
        var c = Case(id);
        var error = Assert.ThrowsAny<Exception>(() => CheckpointLoader.Load(PathOf(c), OptionsFor(c)));
        Assert.True(error is IOException or WeightsLoadException, $"{error.GetType().Name}: {error.Message}");
        Assert.Contains(c["error_contains"]!.GetValue<string>(), error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Training_checkpoints_expose_their_other_weights_on_request()
    {
        // DINO: the teacher by default, the student (under module.backbone.) when asked.
        var dino = Case("dino_train_pth");
        using var teacher = CheckpointLoader.Load(PathOf(dino), OptionsFor(dino));
        using var student = CheckpointLoader.Load(PathOf(dino), OptionsFor(dino) with { Wrapper = "student" });
        Assert.Equal("teacher", teacher.Summary.Wrapper);
        Assert.Equal(["module.", "backbone."], student.Summary.StrippedPrefixes);
        Assert.NotEqual(0.0, Fixtures.MaxAbsDiff(student.Model.PosEmbedParameter, teacher.Model.PosEmbedParameter));
        Assert.Contains(teacher.Summary.NonTensorEntries, e => e.StartsWith("args", StringComparison.Ordinal));

        // timm's trainer: state_dict by default, the EMA weights when asked.
        var timm = Case("timm_train_pth_tar");
        using var ema = CheckpointLoader.Load(PathOf(timm), OptionsFor(timm) with { Wrapper = "state_dict_ema" });
        Assert.Equal("state_dict_ema", ema.Summary.Wrapper);
        Assert.True(ema.Report.IsClean);
    }

    [Fact]
    public void Hugging_face_configs_supply_heads_eps_and_labels()
    {
        var summary = CheckpointLoader.Inspect(Fixtures.Path_("checkpoints", "hf_cls_bin"));
        Assert.Equal(CheckpointFamily.HuggingFace, summary.Family);
        Assert.Equal(1e-12, summary.Architecture.LayerNormEps);
        Assert.Empty(summary.Guesses);
        Assert.Equal(10, summary.Labels!.Count);

        // ViTModel files carry a pooler that the classifier path never uses: left out, and said so.
        var model = CheckpointLoader.Inspect(Fixtures.Path_("checkpoints", "hf_model_bin"));
        Assert.Contains(model.Ignored, i => i.StartsWith("pooler.dense.weight: ", StringComparison.Ordinal));
        Assert.Equal(0, model.Architecture.NumClasses);
    }

    [Fact]
    public void Patch_kernels_resample_like_timms_flexivit()
    {
        var spec = Manifest["patch_resample"]!;
        using var file = Fixtures.Tensors("checkpoints", spec["file"]!.GetValue<string>());
        using var input = file.Get("input");
        foreach (var size in spec["sizes"]!.AsArray())
            foreach (var mode in spec["modes"]!.AsArray().Select(m => m!.GetValue<string>()))
            {
                var grid = new VitSharp.PosEmbed.GridSize(size![0]!.GetValue<int>(), size[1]!.GetValue<int>());
                var how = mode == "bicubic" ? VitSharp.PosEmbed.PosEmbedInterpolation.Bicubic : VitSharp.PosEmbed.PosEmbedInterpolation.Bilinear;
                using var actual = PatchEmbedResampler.Resample(input, grid, how);
                using var expected = file.Get($"expected.{grid}.{mode}");
                // timm computes the pseudo-inverse in float32, VitSharp in float64: the difference is float32 rounding.
                Fixtures.AssertClose(actual, expected, $"patch kernel 8x8 -> {grid} {mode}", 1e-4);
            }
    }

    [Fact]
    public void Dinov2_training_checkpoints_with_block_chunks_load_like_the_flat_ones()
    {
        // DINOv2 with block_chunks=2: blocks.0.0.* and blocks.1.1.* (each chunk keeps global block indices).
        var c = Case("dinov2_pth");
        string path = CheckpointLoaderTests.TempPath("dinov2_chunked.safetensors");
        using (var flat = VitSharp.IO.Pickle.PyTorchCheckpoint.Open(PathOf(c)))
        {
            var tensors = ((VitSharp.IO.ICheckpointSource)flat).Tensors.ToDictionary(
                t => System.Text.RegularExpressions.Regex.Replace(t.Name, @"^blocks\.(\d+)\.", m => $"blocks.{m.Groups[1].Value}.{m.Groups[1].Value}."),
                t => t.Read());
            Assert.Contains("blocks.1.1.ls2.gamma", tensors.Keys);
            VitSharp.IO.SafeTensors.Write(path, tensors);
        }
        using var loaded = CheckpointLoader.Load(path, OptionsFor(c));
        Assert.Equal(CheckpointFamily.DinoV2, loaded.Summary.Family);
        Assert.True(loaded.Report.IsClean, loaded.Report.Describe());
        Assert.All(MeasureErrors(c, loaded), e => Assert.True(e.Value <= Fixtures.Tolerance, $"{e.Key}: {e.Value:E3}"));
    }
}
