using VitSharp.Checkpoints;
using VitSharp.IO;
using VitSharp.Models;
using VitSharp.PosEmbed;
using VitSharp.Tests.Models;
using VitSharp.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.Tests.Checkpoints;

/// <summary>
/// The checkpoint loader on the whole-model fixtures (timm-named safetensors made by PyTorch): the architecture
/// it infers, the outputs of the model it builds, and what it does when asked to build a different model.
/// </summary>
public class CheckpointLoaderTests
{
    private static string Weights(string name) => Fixtures.Path_("models", $"{name}.weights.safetensors");

    private static CheckpointLoadOptions WithHints(string name) =>
        new() { Hints = ArchitectureHints.FromFile(Fixtures.Path_("models", $"{name}.json")) };

    public static TheoryData<string> ModelCases() => [.. ModelParityTests.CasesAndSizes().Select(row => (string)row[0]).Distinct()];

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void Loaded_models_match_pytorch_at_every_fixture_size(string name)
    {
        using var loaded = CheckpointLoader.Load(Weights(name), WithHints(name));
        Assert.True(loaded.Report.IsClean, loaded.Report.Describe());
        Assert.Equal(VitConfigJson.Read(Fixtures.Path_("models", $"{name}.json")), loaded.Model.Config);
        using var io = Fixtures.Tensors("models", $"{name}.io.safetensors");
        foreach (var size in Fixtures.Json("models", $"{name}.json")["sizes"]!.AsArray())
        {
            string key = $"{size![0]}x{size[1]}";
            var errors = ModelParityTests.MeasureErrors(name, loaded.Model, io, key);
            Assert.All(errors, e => Assert.True(e.Value <= Fixtures.Tolerance, $"{name} {e.Key} at {key}: {e.Value:E3}"));
        }
    }

    [Fact]
    public void The_architecture_is_inferred_from_shapes_alone_for_a_conventional_width()
    {
        // A 384-wide model: heads follow the ViT-S convention and are reported as a guess.
        using var scope = NewDisposeScope();
        using var model = new VisionTransformer(new VitConfig { EmbedDim = 384, NumHeads = 6, Depth = 2, ImgSize = GridSize.Square(64), PatchSize = 16, NumClasses = 7 });
        string path = TempPath("small.safetensors");
        SafeTensors.Write(path, model.state_dict());
        var summary = CheckpointLoader.Inspect(path);
        Assert.Equal(CheckpointFamily.Timm, summary.Family);
        Assert.Equal(model.Config, summary.Architecture);
        Assert.Contains(summary.Guesses, g => g.StartsWith("num_heads 6", StringComparison.Ordinal));
        Assert.Equal(model.parameters().Sum(p => p.numel()), summary.ParameterCount);
    }

    [Fact]
    public void An_export_loads_back_with_its_config_and_gives_identical_outputs()
    {
        using var original = CheckpointLoader.Load(Weights("vit_timm_rect"), WithHints("vit_timm_rect"));
        string path = TempPath("export.safetensors");
        string configPath = CheckpointExporter.Save(original.Model, path);
        Assert.True(File.Exists(configPath));

        using var reloaded = CheckpointLoader.Load(path);
        Assert.Equal(original.Model.Config, reloaded.Model.Config);
        using var _ = no_grad();
        using var x = randn(2, 3, 40, 40, generator: new Generator(3));
        Assert.Equal(0.0, Fixtures.MaxAbsDiff(reloaded.Model.call(x), original.Model.call(x)));
    }

    [Fact]
    public void A_bfloat16_export_loads_into_a_float32_model()
    {
        using var original = CheckpointLoader.Load(Weights("vit_timm_p8"), WithHints("vit_timm_p8"));
        string path = TempPath("bf16.safetensors");
        CheckpointExporter.Save(original.Model, path, ScalarType.BFloat16);
        using (var file = SafeTensors.Read(path)) Assert.Equal(ScalarType.BFloat16, file.GetInfo("pos_embed").ScalarType);
        using var reloaded = CheckpointLoader.Load(path);
        Assert.Equal(ScalarType.Float32, reloaded.Model.PosEmbedParameter.dtype);
        using var _ = no_grad();
        using var x = randn(1, 3, 32, 32, generator: new Generator(4));
        // bfloat16 keeps 8 bits of mantissa: close, not equal.
        Assert.InRange(Fixtures.MaxAbsDiff(reloaded.Model.call(x), original.Model.call(x)), 1e-6, 0.1);
    }

    [Fact]
    public void A_larger_image_size_resamples_the_table_on_load_like_timm_at_run_time()
    {
        // timm resamples with the same function on load and at run time, so a model built for 48x48 from the
        // 32x32 checkpoint must give the fixture's 48x48 logits at its native size.
        var options = WithHints("vit_timm_p8") with { Configure = c => c with { ImgSize = GridSize.Square(48) } };
        using var loaded = CheckpointLoader.Load(Weights("vit_timm_p8"), options);
        Assert.Contains(loaded.Adaptations, a => a.Contains("pos_embed resampled from the 4x4 grid to 6x6", StringComparison.Ordinal));
        Assert.Equal(37, loaded.Model.PosEmbedParameter.shape[1]);
        using var io = Fixtures.Tensors("models", "vit_timm_p8.io.safetensors");
        using var _ = no_grad();
        Fixtures.AssertClose(loaded.Model.call(io.Get("input.48x48")), io.Get("logits.48x48"), "loaded at 48x48");
    }

    [Fact]
    public void A_larger_patch_size_resamples_the_kernel_so_an_upsampled_image_gives_the_same_answer()
    {
        // FlexiViT: the pseudo-inverse kernel on a bicubic-upsampled patch reproduces the old kernel on the old
        // patch exactly (upsampling loses nothing). Patch 8 -> 16 with every patch upsampled on its own (a whole-image
        // resize would mix pixels across patch borders) keeps the 4x4 grid.
        var options = WithHints("vit_timm_p8") with { Configure = c => c with { PatchSize = 16, ImgSize = GridSize.Square(64) } };
        using var loaded = CheckpointLoader.Load(Weights("vit_timm_p8"), options);
        Assert.Contains(loaded.Adaptations, a => a.StartsWith("patch_embed.proj.weight resampled from 8x8 to 16x16", StringComparison.Ordinal));
        Assert.DoesNotContain(loaded.Adaptations, a => a.StartsWith("pos_embed", StringComparison.Ordinal));
        using var io = Fixtures.Tensors("models", "vit_timm_p8.io.safetensors");
        using var _ = no_grad();
        using var input = io.Get("input.32x32");
        long b = input.shape[0], ch = input.shape[1];
        using var patches = input.reshape(b, ch, 4, 8, 4, 8).permute(0, 2, 4, 1, 3, 5).reshape(b * 16, ch, 8, 8);
        using var bigger = nn.functional.interpolate(patches, size: [16, 16], mode: InterpolationMode.Bicubic, align_corners: false, antialias: true);
        using var upsampled = bigger.reshape(b, 4, 4, ch, 16, 16).permute(0, 3, 1, 4, 2, 5).reshape(b, ch, 64, 64);
        Fixtures.AssertClose(loaded.Model.call(upsampled), io.Get("logits.32x32"), "patch 16 on the upsampled image", 1e-4);
    }

    [Fact]
    public void Another_class_count_keeps_the_backbone_and_starts_a_new_head()
    {
        var options = WithHints("vit_timm_p8") with { Configure = c => c with { NumClasses = 3 } };
        using var loaded = CheckpointLoader.Load(Weights("vit_timm_p8"), options);
        Assert.Contains(loaded.Adaptations, a => a.StartsWith("head not loaded", StringComparison.Ordinal));
        Assert.Equal(["head.weight", "head.bias"], loaded.Report.Missing.Order().Reverse());
        using var io = Fixtures.Tensors("models", "vit_timm_p8.io.safetensors");
        using var _ = no_grad();
        Fixtures.AssertClose(loaded.Model.ForwardHead(loaded.Model.ForwardFeatures(io.Get("input.32x32")), preLogits: true), io.Get("cls_features.32x32"), "backbone features");
    }

    [Fact]
    public void Unknown_keys_fail_a_strict_load_by_name_and_are_reported_by_a_lenient_one()
    {
        string path = TempPath("extra.safetensors");
        using (var file = Fixtures.Tensors("models", "vit_timm_p8.weights.safetensors"))
        {
            var tensors = file.ToDictionary();
            tensors["blocks.0.attn.rope.freqs"] = zeros(4);
            SafeTensors.Write(path, tensors);
        }
        var options = WithHints("vit_timm_p8");
        var error = Assert.Throws<WeightsLoadException>(() => CheckpointLoader.Load(path, options));
        Assert.Contains("blocks.0.attn.rope.freqs", error.Message, StringComparison.Ordinal);
        using var loaded = CheckpointLoader.Load(path, options with { Strict = false });
        Assert.Equal(["blocks.0.attn.rope.freqs"], loaded.Report.Unexpected);
    }

    [Theory]
    [InlineData("blocks.1.attn.qkv.weight", new long[] { 100, 48 }, "blocks.1.attn.qkv.weight is [100, 48]")]
    [InlineData("blocks.1.mlp.fc1.weight", new long[] { 96, 48 }, "blocks.1.mlp.fc1.weight is [96, 48]")]
    [InlineData("pos_embed", new long[] { 1, 20, 48 }, "pos_embed has 20 rows")]
    [InlineData("pos_embed", new long[] { 1, 17, 40 }, "pos_embed is [1, 17, 40]")]
    [InlineData("patch_embed.proj.weight", new long[] { 48, 3, 8, 4 }, "non-square patches")]
    public void Shapes_that_contradict_the_architecture_are_refused_by_name(string key, long[] shape, string expected)
    {
        string path = TempPath("broken.safetensors");
        using (var file = Fixtures.Tensors("models", "vit_timm_p8.weights.safetensors"))
        {
            var tensors = file.ToDictionary();
            tensors[key] = zeros(shape);
            SafeTensors.Write(path, tensors);
        }
        var error = Assert.Throws<CheckpointException>(() => CheckpointLoader.Load(path, new CheckpointLoadOptions { Hints = new ArchitectureHints { NumHeads = 3 } }));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_width_without_a_head_convention_asks_for_the_head_count()
    {
        var error = Assert.Throws<CheckpointException>(() => CheckpointLoader.Inspect(Weights("vit_timm_p8")));
        Assert.Contains("number of attention heads of a 48-wide model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Files_that_are_not_checkpoints_are_refused_with_one_line()
    {
        string path = TempPath("notes.txt");
        File.WriteAllText(path, "hello, this is not a checkpoint");
        var error = Assert.Throws<CheckpointException>(() => CheckpointLoader.Inspect(path));
        Assert.Contains("not a checkpoint VitSharp can read", error.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => CheckpointLoader.Inspect(TempPath("missing.pth")));
    }

    internal static string TempPath(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), "vitsharp-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }
}
