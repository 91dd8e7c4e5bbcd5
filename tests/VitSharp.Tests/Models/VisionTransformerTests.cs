using VitSharp.Models;
using VitSharp.PosEmbed;
using VitSharp.Registry;
using static TorchSharp.torch;

namespace VitSharp.Tests.Models;

public class VisionTransformerTests
{
    private static VitConfig Tiny => new()
    {
        ImgSize = GridSize.Square(32), PatchSize = 8, EmbedDim = 32, Depth = 2, NumHeads = 2, NumClasses = 5,
    };

    [Fact]
    public void Runs_at_square_non_square_larger_and_smaller_sizes()
    {
        using var model = new VisionTransformer(Tiny);
        model.eval();
        foreach (var (h, w) in new[] { (32, 32), (64, 40), (16, 48), (8, 8) })
        {
            using var x = randn(2, 3, h, w);
            using var y = model.call(x);
            Assert.Equal(new long[] { 2, 5 }, y.shape);
        }
    }

    [Fact]
    public void A_size_not_divisible_by_the_patch_is_a_clear_error()
    {
        using var model = new VisionTransformer(Tiny);
        using var x = randn(1, 3, 30, 32);
        var error = Assert.Throws<ArgumentException>(() => model.call(x));
        Assert.Contains("not divisible by the patch size 8", error.Message);
    }

    [Fact]
    public void Dynamic_padding_pads_to_the_next_multiple()
    {
        using var model = new VisionTransformer(Tiny with { DynamicImgPad = true, NumClasses = 0 });
        model.eval();
        using var x = randn(1, 3, 30, 33);
        using var features = model.ForwardFeatures(x);
        Assert.Equal(new long[] { 1, 1 + 4 * 5, 32 }, features.shape);
    }

    [Fact]
    public void Wrong_channel_count_is_a_clear_error()
    {
        using var model = new VisionTransformer(Tiny);
        using var x = randn(1, 1, 32, 32);
        Assert.Contains("expected 3 input channels", Assert.Throws<ArgumentException>(() => model.call(x)).Message);
    }

    [Fact]
    public void Eval_caches_the_resampled_table_and_drops_it_when_weights_change()
    {
        using var model = new VisionTransformer(Tiny);
        model.eval();
        var grid = new GridSize(5, 3);
        using var first = model.PosEmbedFor(grid);

        // An in-place edit the model is not told about: the cached table is still served...
        using (no_grad()) model.PosEmbedParameter.add_(1.0);
        using var cached = model.PosEmbedFor(grid);
        Assert.Equal(0, Fixtures.MaxAbsDiff(cached, first));

        // ...until the cache is dropped, explicitly or by load_state_dict.
        model.ClearPosEmbedCache();
        using var refreshed = model.PosEmbedFor(grid);
        Assert.True(Fixtures.MaxAbsDiff(refreshed, first) > 0.5);

        var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        state["pos_embed"].add_(1.0);
        model.load_state_dict(state);
        using var reloaded = model.PosEmbedFor(grid);
        using var fresh = PosEmbedResampler.Resample(model.PosEmbedParameter.detach(), Tiny.GridSize, grid, 1, model.PosEmbedResampling);
        Assert.Equal(0, Fixtures.MaxAbsDiff(reloaded, fresh));
        Assert.True(Fixtures.MaxAbsDiff(reloaded, refreshed) > 0.5);
    }

    [Fact]
    public void Training_keeps_the_resampled_table_differentiable()
    {
        using var model = new VisionTransformer(Tiny);
        model.train();
        using var x = randn(2, 3, 48, 24);
        model.call(x).sum().backward();
        Assert.True(model.PosEmbedParameter.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Drop_path_rates_grow_linearly_and_only_act_in_training()
    {
        using var model = new VisionTransformer(Tiny with { Depth = 5, DropPathRate = 0.4 });
        var rates = model.modules().OfType<VitSharp.Modules.DropPath>().Select(d => d.DropProbability).Distinct().ToArray();
        Assert.Equal(new[] { 0.0, 0.1, 0.2, 0.3, 0.4 }, rates.Select(r => Math.Round(r, 12)));

        model.eval();
        using var x = randn(2, 3, 32, 32);
        using var a = model.call(x);
        using var b = model.call(x);
        Assert.Equal(0, Fixtures.MaxAbsDiff(a, b));
    }

    [Fact]
    public void Drop_path_drops_whole_samples()
    {
        using var dropPath = new VitSharp.Modules.DropPath(0.5);
        dropPath.train();
        manual_seed(3);
        using var x = ones(64, 4, 3);
        using var y = dropPath.call(x);
        var perSample = y.reshape(64, -1);
        // Each sample is either all zero or all 1/(1-p).
        for (int i = 0; i < 64; i++)
        {
            float value = perSample[i][0].item<float>();
            Assert.Contains(value, new[] { 0f, 2f });
            Assert.True((perSample[i] == value).all().item<bool>());
        }
    }

    [Fact]
    public void Set_input_size_makes_a_new_native_grid()
    {
        using var model = new VisionTransformer(Tiny);
        model.eval();
        using var x = randn(1, 3, 48, 64);
        using var before = model.call(x);
        model.SetInputSize(new GridSize(48, 64));
        Assert.Equal(new long[] { 1, 1 + 6 * 8, 32 }, model.PosEmbedParameter.shape);
        using var after = model.call(x);
        Assert.True(Fixtures.MaxAbsDiff(before, after) < 1e-5);
    }

    [Fact]
    public void Sincos_position_embeddings_are_exact_at_every_grid()
    {
        using var model = new VisionTransformer(Tiny with { PosEmbed = PosEmbedKind.SinCos });
        model.eval();
        using var table = model.PosEmbedFor(new GridSize(3, 7));
        using var expected = SinCosPosEmbed.Build(32, new GridSize(3, 7), 1);
        Assert.Equal(0, Fixtures.MaxAbsDiff(table, expected));
        Assert.False(model.PosEmbedParameter.requires_grad);
    }

    [Fact]
    public void Registers_and_no_embed_class_follow_timm_layout()
    {
        using var model = new VisionTransformer(Tiny with { RegTokens = 4, NoEmbedClass = true, NumClasses = 0 });
        var keys = model.state_dict();
        Assert.Equal(new long[] { 1, 4, 32 }, keys["reg_token"].shape);
        Assert.Equal(new long[] { 1, 16, 32 }, keys["pos_embed"].shape);
        model.eval();
        using var features = model.ForwardFeatures(randn(1, 3, 40, 24));
        Assert.Equal(new long[] { 1, 5 + 15, 32 }, features.shape);
    }

    [Fact]
    public void Layer_scale_and_avg_pool_use_timm_keys()
    {
        using var model = new VisionTransformer(Tiny with { InitValues = 1e-5, GlobalPool = GlobalPool.Avg });
        var keys = model.state_dict().Keys.ToHashSet();
        Assert.Contains("blocks.0.ls1.gamma", keys);
        Assert.Contains("blocks.1.ls2.gamma", keys);
        Assert.Contains("fc_norm.weight", keys);
        Assert.DoesNotContain("norm.weight", keys);
    }

    [Fact]
    public void Invalid_configurations_name_the_problem()
    {
        Assert.Contains("not divisible by num_heads", Assert.Throws<ArgumentException>(() => (Tiny with { NumHeads = 5 }).Validate()).Message);
        Assert.Contains("needs a class token", Assert.Throws<ArgumentException>(() => (Tiny with { ClassToken = false }).Validate()).Message);
        Assert.Contains("not divisible by patch_size", Assert.Throws<ArgumentException>(() => (Tiny with { ImgSize = GridSize.Square(30) }).Validate()).Message);
    }

    [Fact]
    public void Config_json_round_trips()
    {
        var config = Tiny with { ImgSize = new GridSize(32, 48), InitValues = 0.1, RegTokens = 2, PosEmbedResampling = PosEmbedResampling.DinoV2 };
        var back = VitConfigJson.Parse(VitConfigJson.Write(config), new VitConfig());
        Assert.Equal(config with { FcNorm = config.UseFcNorm }, back);
    }

    [Fact]
    public void Registry_has_timm_names_and_builds_them()
    {
        Assert.Contains("vit_base_patch16_384", VitRegistry.Names);
        Assert.Contains("vit_huge_patch14_224", VitRegistry.Names);
        Assert.Contains("vit_small_patch14_reg4_dinov2", VitRegistry.Names);
        foreach (string name in VitRegistry.Names) VitRegistry.Get(name).Validate();
        Assert.Equal(new GridSize(37, 37), VitRegistry.Get("vit_small_patch14_dinov2").GridSize);
        Assert.Contains("did you mean", Assert.Throws<ArgumentException>(() => VitRegistry.Get("vit_smal_patch16_224")).Message);
    }

    [Fact]
    public void Initialisation_is_timms_truncated_normal()
    {
        manual_seed(0);
        using var model = new VisionTransformer(Tiny with { EmbedDim = 64, NumHeads = 4 });
        var p = model.state_dict();
        foreach (string key in new[] { "pos_embed", "blocks.0.attn.qkv.weight", "blocks.1.mlp.fc1.weight", "head.weight" })
        {
            double std = p[key].std().item<float>();
            Assert.InRange(std, 0.018, 0.022); // PyTorch's bounds ±2 are absolute, 100 std away: the std stays 0.02
            Assert.InRange(Math.Abs(p[key].mean().item<float>()), 0, 0.005);
        }
        Assert.Equal(0, p["blocks.0.attn.qkv.bias"].abs().max().item<float>());
    }
}

