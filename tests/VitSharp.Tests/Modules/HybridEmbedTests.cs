using VitSharp.Checkpoints;
using VitSharp.IO;
using VitSharp.Models;
using VitSharp.Modules;
using VitSharp.PosEmbed;
using VitSharp.Tests.Checkpoints;
using VitSharp.Tests.Models;
using static TorchSharp.torch;

namespace VitSharp.Tests.Modules;

/// <summary>
/// The hybrid ViT's convolutional stem (timm <c>HybridEmbed</c> + <c>ConvStem</c>). Evaluation-mode parity at every
/// size is in <see cref="ModelParityTests"/> (the <c>vit_hybrid_*</c> cases); here is what only a BatchNorm has, and
/// what a config must say because no tensor does.
/// </summary>
public class HybridEmbedTests
{
    private const string Case = "vit_hybrid_convstem";

    [Fact]
    public void Training_mode_uses_batch_statistics_and_moves_the_running_ones_as_pytorch_does()
    {
        using var model = ModelParityTests.LoadModel(Case);
        using var io = Fixtures.Tensors("models", $"{Case}.io.safetensors");
        model.train();
        using (no_grad())
        using (var logits = model.call(io.Get("input.16x16")))
            Fixtures.AssertClose(logits, io.Get("train_logits.16x16"), "training-mode logits");
        var state = model.state_dict();
        foreach (int layer in new[] { 0, 1 })
        {
            Fixtures.AssertClose(state[$"patch_embed.backbone.{layer}.bn.running_mean"], io.Get($"running_mean_after_train_forward.{layer}.16x16"), $"running mean {layer}");
            Fixtures.AssertClose(state[$"patch_embed.backbone.{layer}.bn.running_var"], io.Get($"running_var_after_train_forward.{layer}.16x16"), $"running var {layer}");
            Assert.Equal(8L, state[$"patch_embed.backbone.{layer}.bn.num_batches_tracked"].item<long>());
        }
    }

    [Theory]
    [InlineData("vit_hybrid_convstem_groupnorm1", StemNorm.GroupNorm1)]
    [InlineData("vit_hybrid_convstem_layernorm2d", StemNorm.LayerNorm2d)]
    public void A_per_image_norm_keeps_no_statistics_so_training_mode_gives_the_evaluation_output(string name, StemNorm norm)
    {
        using var model = ModelParityTests.LoadModel(name);
        Assert.Equal(norm, model.Config.ConvStem!.Norm);
        Assert.DoesNotContain(model.state_dict().Keys, k => k.Contains("running_") || k.Contains("num_batches"));
        Assert.Contains("patch_embed.backbone.0.bn.weight", model.state_dict().Keys);
        using var io = Fixtures.Tensors("models", $"{name}.io.safetensors");
        model.train();
        using (no_grad())
        using (var logits = model.call(io.Get("input.16x16")))
            Fixtures.AssertClose(logits, io.Get("logits.16x16"), "training-mode logits of a per-image norm");
    }

    [Fact]
    public void The_stem_norm_round_trips_and_an_unknown_one_is_refused_by_name()
    {
        string json = File.ReadAllText(Fixtures.Path_("models", "vit_hybrid_convstem_layernorm2d.json"));
        var config = VitConfigJson.Parse(json, new VitConfig());
        Assert.Equal(StemNorm.LayerNorm2d, config.ConvStem!.Norm);
        Assert.Equal(config.ConvStem, VitConfigJson.Parse(VitConfigJson.Write(config), new VitConfig()).ConvStem);
        Assert.NotEqual(config.ConvStem, new ConvStemSpec(config.ConvStem.Channels, config.ConvStem.Strides));
        var error = Assert.Throws<FormatException>(() => VitConfigJson.Parse(json.Replace("\"layernorm2d\"", "\"instancenorm\""), new VitConfig()));
        Assert.Contains("conv_stem norm 'instancenorm' is not supported", error.Message);
    }

    [Fact]
    public void The_config_round_trips_through_json_with_its_stem()
    {
        var config = VitConfigJson.Read(Fixtures.Path_("models", $"{Case}.json"));
        Assert.Equal(PatchEmbedKind.ConvStem, config.PatchEmbed);
        Assert.Equal(new ConvStemSpec([8, 16, 24], [1, 2, 2]), config.ConvStem);
        var reread = VitConfigJson.Parse(VitConfigJson.Write(config), new VitConfig());
        Assert.Equal(config.ConvStem, reread.ConvStem);
        Assert.Equal(VitConfigJson.Write(config), VitConfigJson.Write(reread));
    }

    [Fact]
    public void Strides_that_do_not_make_the_patch_size_are_refused()
    {
        var config = VitConfigJson.Read(Fixtures.Path_("models", $"{Case}.json"));
        var error = Assert.Throws<ArgumentException>(() => (config with { PatchSize = 8 }).Validate());
        Assert.Contains("strides multiply to 4", error.Message);
        error = Assert.Throws<ArgumentException>(() => (config with { ConvStem = new ConvStemSpec([8, 16, 32], [1, 2, 2]) }).Validate());
        Assert.Contains("must equal embed_dim 24", error.Message);
    }

    [Fact]
    public void An_input_not_divisible_by_the_stride_is_refused_with_the_reason()
    {
        using var model = ModelParityTests.LoadModel(Case);
        using var x = zeros(1, 3, 18, 16);
        var error = Assert.Throws<ArgumentException>(() => model.call(x));
        Assert.Contains("not divisible by the patch size 4", error.Message);
    }

    [Fact]
    public void A_checkpoint_loads_with_its_config_and_is_refused_without_one()
    {
        string folder = Path.GetDirectoryName(CheckpointLoaderTests.TempPath("x"))!;
        string weights = Path.Combine(folder, "hybrid.safetensors");
        File.Copy(Fixtures.Path_("models", $"{Case}.weights.safetensors"), weights);
        var error = Assert.Throws<CheckpointException>(() => CheckpointLoader.Inspect(weights));
        Assert.Contains("convolutional stem", error.Message);
        Assert.Contains("config", error.Message);

        File.Copy(Fixtures.Path_("models", $"{Case}.json"), Path.Combine(folder, "hybrid.json"));
        using var loaded = CheckpointLoader.Load(weights);
        Assert.True(loaded.Report.IsClean, loaded.Report.Describe());
        Assert.Equal(VitConfigJson.Read(Fixtures.Path_("models", $"{Case}.json")), loaded.Model.Config);
    }

    [Fact]
    public void A_stem_whose_shapes_disagree_with_the_config_is_refused()
    {
        var other = VitConfigJson.Read(Fixtures.Path_("models", $"{Case}.json")) with { ConvStem = new ConvStemSpec([8, 12, 24], [1, 2, 2]) };
        var options = new CheckpointLoadOptions { Hints = ArchitectureHints.FromConfig(other) };
        var error = Assert.Throws<CheckpointException>(() => CheckpointLoader.Load(Fixtures.Path_("models", $"{Case}.weights.safetensors"), options));
        Assert.Contains("patch_embed.backbone.1.conv.weight is [16, 8, 3, 3]", error.Message);
    }

    [Fact]
    public void A_stem_kernel_that_is_not_a_kernel_is_refused_with_its_name()
    {
        using var weights = Fixtures.Tensors("models", $"{Case}.weights.safetensors");
        var tensors = new Dictionary<string, Tensor>(weights.ToDictionary());
        tensors["patch_embed.backbone.0.conv.weight"] = zeros(72);
        string path = CheckpointLoaderTests.TempPath("flat-stem.safetensors");
        SafeTensors.Write(path, tensors);
        var options = new CheckpointLoadOptions { Hints = ArchitectureHints.FromFile(Fixtures.Path_("models", $"{Case}.json")) };
        var error = Assert.Throws<CheckpointException>(() => CheckpointLoader.Load(path, options));
        Assert.Contains("patch_embed.backbone.0.conv.weight is [72], not a conv kernel", error.Message);
    }

    [Fact]
    public void An_export_of_a_hybrid_loads_back_identically()
    {
        using var model = ModelParityTests.LoadModel(Case);
        string path = CheckpointLoaderTests.TempPath("hybrid-export.safetensors");
        CheckpointExporter.Save(model, path);
        using var reloaded = CheckpointLoader.Load(path);
        using var _ = no_grad();
        using var x = randn(2, 3, 24, 32, generator: new Generator(5));
        Assert.Equal(0.0, Fixtures.MaxAbsDiff(reloaded.Model.call(x), model.call(x)));
    }
}
