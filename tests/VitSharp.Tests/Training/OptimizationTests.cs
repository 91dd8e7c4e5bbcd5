using TorchSharp;
using VitSharp.Training;
using static TorchSharp.torch;

namespace VitSharp.Tests.Training;

/// <summary>AdamW against its formula, timm's decay groups and layer decay, the schedule's values, the EMA update, the loss.</summary>
public sealed class OptimizationTests
{
    [Fact]
    public void AdamW_steps_follow_the_decoupled_formula()
    {
        const double Lr = 0.1, Wd = 0.5, B1 = 0.9, B2 = 0.999, Eps = 1e-8;
        var p = new TorchSharp.Modules.Parameter(tensor(new double[] { 1.0, -2.0 }));
        using var adam = new AdamW([new ParamGroup("g", [("w", p)], Wd, LrScale: 0.5)], B1, B2, Eps);
        double[] w = [1.0, -2.0], m = [0, 0], v = [0, 0];
        double[][] grads = [[0.3, -0.1], [-0.2, 0.4]];
        for (int t = 1; t <= 2; t++)
        {
            p.grad = tensor(grads[t - 1]);
            adam.Step(Lr);
            double lr = Lr * 0.5;
            for (int i = 0; i < 2; i++)
            {
                w[i] *= 1 - lr * Wd;
                m[i] = B1 * m[i] + (1 - B1) * grads[t - 1][i];
                v[i] = B2 * v[i] + (1 - B2) * grads[t - 1][i] * grads[t - 1][i];
                w[i] -= lr / (1 - Math.Pow(B1, t)) * m[i] / (Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(B2, t)) + Eps);
            }
            var actual = p.data<double>().ToArray();
            for (int i = 0; i < 2; i++) Assert.Equal(w[i], actual[i], 12);
        }
        Assert.Equal(2, adam.StepOf("w"));
    }

    [Fact]
    public void Weight_decay_skips_norms_biases_and_the_no_weight_decay_names()
    {
        using var model = TinyTraining.Model();
        var groups = ParamGroups.Build(model, 0.05);
        var decay = groups.Single(g => g.WeightDecay == 0.05).Parameters.Select(p => p.Name).ToHashSet();
        var noDecay = groups.Single(g => g.WeightDecay == 0).Parameters.Select(p => p.Name).ToHashSet();

        Assert.Subset(decay, new HashSet<string> { "patch_embed.proj.weight", "blocks.0.attn.qkv.weight", "blocks.1.mlp.fc2.weight", "head.weight" });
        Assert.Subset(noDecay, new HashSet<string> { "pos_embed", "cls_token", "patch_embed.proj.bias", "blocks.0.norm1.weight", "blocks.0.attn.qkv.bias", "norm.weight", "head.bias" });
        Assert.All(decay, n => Assert.DoesNotContain(".bias", n));
        Assert.Equal(model.parameters().Count(), decay.Count + noDecay.Count);
    }

    [Fact]
    public void Layer_decay_scales_embeddings_blocks_and_head_like_timm()
    {
        Assert.Equal(0, ParamGroups.LayerId("pos_embed", 12));
        Assert.Equal(0, ParamGroups.LayerId("patch_embed.proj.weight", 12));
        Assert.Equal(4, ParamGroups.LayerId("blocks.3.attn.proj.weight", 12));
        Assert.Equal(13, ParamGroups.LayerId("head.weight", 12));
        Assert.Equal(13, ParamGroups.LayerId("norm.bias", 12));

        using var model = TinyTraining.Model(); // depth 2: layers 0..3
        var groups = ParamGroups.Build(model, 0.05, layerDecay: 0.5);
        double ScaleOf(string name) => groups.Single(g => g.Parameters.Any(p => p.Name == name)).LrScale;
        Assert.Equal(0.125, ScaleOf("cls_token"));
        Assert.Equal(0.25, ScaleOf("blocks.0.attn.qkv.weight"));
        Assert.Equal(0.5, ScaleOf("blocks.1.norm1.weight"));
        Assert.Equal(1.0, ScaleOf("head.weight"));
    }

    [Fact]
    public void The_schedule_warms_up_linearly_then_follows_the_cosine_to_min_lr()
    {
        var s = new CosineSchedule(BaseLr: 1e-3, MinLr: 1e-5, WarmupSteps: 10, TotalSteps: 100, WarmupLrInit: 1e-6);
        Assert.Equal(1e-6, s.At(0), 15);
        Assert.Equal(1e-6 + 5 * (1e-3 - 1e-6) / 10, s.At(5), 15);
        Assert.Equal(1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + Math.Cos(Math.PI * 10 / 100)), s.At(10), 15);
        Assert.Equal(1e-5 + 0.5 * (1e-3 - 1e-5), s.At(50), 15);
        Assert.Equal(1e-5, s.At(100), 15);
        Assert.Equal(1e-5, s.At(1000), 15);
    }

    [Fact]
    public void The_EMA_moves_towards_the_weights_by_one_minus_decay()
    {
        using var model = TinyTraining.Model();
        using var ema = new ModelEma(model, decay: 0.75, warmup: false);
        var before = ema.Model.state_dict()["head.weight"].clone();
        using (no_grad()) model.state_dict()["head.weight"].add_(1.0);
        ema.Update();
        Assert.True((before + 0.25).allclose(ema.Model.state_dict()["head.weight"], rtol: 0, atol: 1e-6));

        using var warm = new ModelEma(model, decay: 0.9998, warmup: true);
        Assert.Equal(0.1, warm.CurrentDecay, 12);
        warm.Update();
        Assert.Equal(2.0 / 11.0, warm.CurrentDecay, 12);
    }

    [Fact]
    public void Soft_target_cross_entropy_is_float32_mean_of_minus_target_log_softmax()
    {
        var logits = tensor(new float[] { 2, 0, 0, 1 }, [2, 2]).to(ScalarType.BFloat16);
        var targets = tensor(new float[] { 0.9f, 0.1f, 0.5f, 0.5f }, [2, 2]);
        var loss = SoftTargetCrossEntropy.Loss(logits, targets);
        double Row(double a, double b, double ta, double tb)
        {
            double log = Math.Log(Math.Exp(a) + Math.Exp(b));
            return -(ta * (a - log) + tb * (b - log));
        }
        Assert.Equal(ScalarType.Float32, loss.dtype);
        Assert.Equal((Row(2, 0, 0.9, 0.1) + Row(0, 1, 0.5, 0.5)) / 2, loss.item<float>(), 5);
    }
}
