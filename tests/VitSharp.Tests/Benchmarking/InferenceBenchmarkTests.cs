using TorchSharp;
using VitSharp.Benchmarking;
using VitSharp.Checkpoints;
using VitSharp.Training.Data;
using VitSharp.Models;
using VitSharp.Kernels;
using VitSharp.PosEmbed;
using VitSharp.Tests.Models;
using static TorchSharp.torch;

namespace VitSharp.Tests.Benchmarking;

/// <summary>The benchmark runner's bookkeeping, and the accuracy of each inference fast path against plain float32.</summary>
public class InferenceBenchmarkTests
{
    [Fact]
    public void Times_at_least_the_asked_passes_and_reports_consistent_figures()
    {
        using var model = ModelParityTests.LoadModel("vit_timm_rect");
        var result = InferenceBenchmark.Run(model, new InferenceBenchmarkCase(new GridSize(24, 56), Batch: 3, ScalarType.Float32, Warmup: 1, MinIterations: 4, MinSeconds: 0, WarmupSeconds: 0));
        Assert.Equal(4, result.Iterations);
        Assert.All(result.LatenciesMs, ms => Assert.True(ms > 0));
        Assert.InRange(result.P50Ms, result.LatenciesMs.Min(), result.P95Ms);
        Assert.Equal(result.LatenciesMs.Max(), result.P95Ms);
        Assert.Equal(4 * 3 / result.TotalSeconds, result.ImagesPerSecond, 6);
        Assert.Equal(VitFlops.PerImage(model.Config, new GridSize(24, 56)) * result.ImagesPerSecond / 1e9, result.Gflops, 6);
    }

    [Fact]
    public void A_configuration_whose_output_differs_from_the_reference_path_is_not_timed()
    {
        // A stand-in for a wrong kernel that got through (the kernel checks stop real ones): the head's output is
        // 1 % off whenever the linear layers do not run libtorch's BLAS.
        using var model = ModelParityTests.LoadModel("vit_timm_rect");
        var head = model.named_modules().Single(m => m.name == "head").module as nn.Module<Tensor, Tensor>;
        var hook = head!.register_forward_hook((_, _, output) => model.LinearKernel == LinearKernel.Blas ? output : output.mul(1.01));
        model.LinearKernel = LinearKernel.OneDnn;
        var error = Assert.Throws<InvalidOperationException>(() =>
            InferenceBenchmark.Run(model, new InferenceBenchmarkCase(new GridSize(24, 56), Batch: 2, ScalarType.Float32, Warmup: 0, MinIterations: 1, MinSeconds: 0, WarmupSeconds: 0)));
        Assert.Contains("away from libtorch's reference path", error.Message);
        Assert.Contains("not timed", error.Message);
        Assert.Equal(LinearKernel.OneDnn, model.LinearKernel); // the reference run leaves the settings as they were
        hook.remove();
        var result = InferenceBenchmark.Run(model, new InferenceBenchmarkCase(new GridSize(24, 56), Batch: 2, ScalarType.Float32, Warmup: 0, MinIterations: 1, MinSeconds: 0, WarmupSeconds: 0));
        Assert.True(result.Check.MaxError <= result.Check.Tolerance);
    }

    [Fact]
    public void The_warm_up_lasts_both_its_passes_and_its_seconds_and_is_not_timed()
    {
        int calls = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var latencies = PassTimer.Time(() => { calls++; Thread.Sleep(5); }, warmup: 2, minIterations: 3, minSeconds: 0, warmupSeconds: 0.1);
        double warmSeconds = clock.Elapsed.TotalSeconds - latencies.Sum() / 1000;
        Assert.Equal(3, latencies.Count);
        Assert.True(calls - latencies.Count > 2, $"{calls - latencies.Count} warm-up passes: the 0.1 s of 5 ms passes needs more than the 2 asked");
        Assert.InRange(warmSeconds, 0.1, 2.0);
        calls = 0;
        PassTimer.Time(() => { calls++; }, warmup: 2, minIterations: 3, minSeconds: 0, warmupSeconds: 0);
        Assert.Equal(5, calls);
    }

    [Fact]
    public void A_size_the_model_cannot_take_is_refused_before_timing()
    {
        using var model = ModelParityTests.LoadModel("vit_timm_rect");
        var error = Assert.Throws<ArgumentException>(() => InferenceBenchmark.Run(model, new InferenceBenchmarkCase(new GridSize(25, 40), 1, ScalarType.Float32)));
        Assert.Contains("not divisible by the patch size", error.Message);
    }

    [Fact]
    public void Inference_mode_gives_exactly_the_no_grad_outputs()
    {
        using var model = ModelParityTests.LoadModel("vit_timm_rect");
        using var io = Fixtures.Tensors("models", "vit_timm_rect.io.safetensors");
        var input = io.Get("input.24x56");
        using var reference = WithNoGrad(model, input);
        using (inference_mode())
        using (var fast = model.call(input))
            Assert.Equal(0.0, Fixtures.MaxAbsDiff(fast, reference));
    }

    /// <summary>
    /// bfloat16 (weights converted once, as <c>vitsharp bench --dtype bf16</c> does) against the PyTorch float32
    /// logits of every whole-model fixture at every size: the same top-1 class for at least 99 % of the inputs, and the
    /// largest logit error, reported, within bf16's 8-bit mantissa scaled by the logits' size.
    /// </summary>
    [Fact]
    public void Bfloat16_agrees_with_float32_on_the_fixtures()
    {
        int agree = 0, total = 0;
        var worst = new List<string>();
        foreach (var (name, size) in ModelParityTests.CasesAndSizes().Select(row => ((string)row[0], (string)row[1])))
        {
            var outputs = Fixtures.Json("models", $"{name}.json")["outputs"]!.AsArray().Select(o => o!.GetValue<string>());
            if (!outputs.Contains("logits")) continue;
            using var model = ModelParityTests.LoadModel(name);
            using var io = Fixtures.Tensors("models", $"{name}.io.safetensors");
            model.to(ScalarType.BFloat16);
            using var scope = NewDisposeScope();
            using var _ = inference_mode();
            var expected = io.Get($"logits.{size}");
            var logits = model.call(io.Get($"input.{size}").to(ScalarType.BFloat16)).to(ScalarType.Float32);
            agree += (int)logits.argmax(-1).eq(expected.argmax(-1)).sum().item<long>();
            total += (int)expected.shape[0];
            double error = Fixtures.MaxAbsDiff(logits, expected);
            double scale = expected.abs().max().item<float>();
            worst.Add($"{name} {size}: max |logit error| {error:F4} (logits up to {scale:F2})");
            Assert.True(error <= 0.05 * Math.Max(1, scale), worst[^1]);
        }
        Assert.True(total >= 20, $"only {total} fixture inputs");
        Assert.True(agree >= 0.99 * total, $"top-1 agreement {agree}/{total}; {string.Join("; ", worst)}");
    }

    [Fact]
    public void Bfloat16_agrees_with_float32_on_the_shipped_model_and_real_images()
    {
        // The model VitSharp trained (beside the CLI) on the first 256 test images of the bundled Fashion-MNIST sample,
        // normalised as training did (0.5 / 0.5), at its own size and at 56x56 with its table resampled.
        using var loaded = LoadShippedModel();
        var model = loaded.Model;
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var report = new List<string>();
        int agree = 0, total = 0;
        foreach (var (side, input) in ShippedModelInputs())
        {
            model.to(ScalarType.Float32);
            var expected = model.call(input);
            model.to(ScalarType.BFloat16);
            // Packed as bench and classify run it where the CPU has bf16 instructions (256 images are well past the
            // packs' row limit); the fixtures above run it unpacked.
            bool packed = model.PackLinearWeights() > 0;
            Assert.Equal(OneDnnPackedLinear.IsAvailable && CpuFeatures.OneDnnRunsBfloat16(), packed);
            var logits = model.call(input.to(ScalarType.BFloat16)).to(ScalarType.Float32);
            Assert.Equal(packed, ProfiledLinears.RanPacked(model) > 0);
            int same = (int)logits.argmax(-1).eq(expected.argmax(-1)).sum().item<long>();
            double error = Fixtures.MaxAbsDiff(logits, expected);
            report.Add($"{side}x{side}{(packed ? " packed" : "")}: top-1 agreement {same}/256, max |logit error| {error:F4} (logits up to {expected.abs().max().item<float>():F2})");
            agree += same;
            total += 256;
        }
        model.to(ScalarType.Float32);
        Assert.True(agree >= 0.99 * total, string.Join("; ", report));
    }

    [Fact]
    public void OneDnn_linear_layers_and_attention_agree_with_libtorchs_on_the_shipped_model_and_real_images()
    {
        // As above, float32 both ways: only the order of the sums differs, so the logits must agree to float32 noise.
        using var loaded = LoadShippedModel();
        var model = loaded.Model;
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        var report = new List<string>();
        foreach (var (side, input) in ShippedModelInputs())
        {
            (model.LinearKernel, model.AttentionKernel) = (LinearKernel.Blas, AttentionKernel.Fused);
            var expected = model.call(input);
            (model.LinearKernel, model.AttentionKernel) = (LinearKernel.OneDnn, AttentionKernel.OneDnn);
            Check("oneDNN", model.call(input));
            // Packed weights under Auto, as classify and embed run the model: these batches are above its limit.
            bool packed = model.PackLinearWeights() > 0;
            (model.LinearKernel, model.AttentionKernel) = (LinearKernel.Auto, AttentionKernel.Auto);
            if (packed) Check("packed weights", model.call(input));
            model.UnpackLinearWeights();

            void Check(string what, Tensor logits)
            {
                int same = (int)logits.argmax(-1).eq(expected.argmax(-1)).sum().item<long>();
                double error = Fixtures.MaxAbsDiff(logits, expected);
                report.Add($"{what} {side}x{side}: top-1 agreement {same}/256, max |logit error| {error:E2} (logits up to {expected.abs().max().item<float>():F2})");
                Assert.True(error <= 1e-4, string.Join("; ", report));
                Assert.True(same >= 255, string.Join("; ", report));
            }
        }
        (model.LinearKernel, model.AttentionKernel) = (LinearKernel.Auto, AttentionKernel.Auto);
    }

    [Theory]
    [InlineData(LinearKernel.OneDnn, false)]
    [InlineData(LinearKernel.Auto, true)]
    public void The_profile_times_every_linear_layer_through_its_hooks_on_every_path(LinearKernel kernel, bool pack)
    {
        using var model = ModelParityTests.LoadModel("vit_timm_rect");
        model.LinearKernel = kernel;
        if (pack && model.PackLinearWeights() == 0) return; // not x86-64
        var parts = ForwardProfile.Measure(model, new GridSize(32, 48), batch: 2, ScalarType.Float32, passes: 3, warmup: 1);
        foreach (string part in new[] { "attention qkv projection", "attention output projection", "MLP fc1", "GELU", "MLP fc2", "head" })
            Assert.Contains(parts, p => p.Part == part && p.Milliseconds > 0);
        Assert.InRange(parts.SkipLast(1).Sum(p => p.Milliseconds), 0.9 * parts[^1].Milliseconds, 1.1 * parts[^1].Milliseconds);
    }

    [Fact]
    public void The_profile_accounts_for_the_whole_pass_and_leaves_the_model_without_hooks()
    {
        using var model = ModelParityTests.LoadModel("vit_timm_rect");
        var parts = ForwardProfile.Measure(model, new GridSize(32, 48), batch: 2, ScalarType.Float32, passes: 3, warmup: 1);
        var whole = parts[^1];
        Assert.Equal("whole forward pass", whole.Part);
        double sum = parts.SkipLast(1).Sum(p => p.Milliseconds);
        Assert.InRange(sum, 0.9 * whole.Milliseconds, 1.1 * whole.Milliseconds);
        Assert.All(parts, p => Assert.InRange(p.Share, 0, 1.0001));
        Assert.Contains(parts, p => p.Part == "MLP fc1" && p.Milliseconds > 0 && p.Gflops > 0);

        // The hooks are gone: outputs are still exactly the fixture's, and a second profile does not double count.
        using var io = Fixtures.Tensors("models", "vit_timm_rect.io.safetensors");
        using (var logits = WithNoGrad(model, io.Get("input.32x48")))
            Fixtures.AssertClose(logits, io.Get("logits.32x48"), "logits after profiling");
        var again = ForwardProfile.Measure(model, new GridSize(32, 48), batch: 2, ScalarType.Float32, passes: 3, warmup: 1);
        Assert.InRange(again.SkipLast(1).Sum(p => p.Milliseconds), 0.5 * again[^1].Milliseconds, 1.1 * again[^1].Milliseconds);
    }

    /// <summary>The model VitSharp trained and ships beside the CLI, in evaluation mode.</summary>
    private static LoadedCheckpoint LoadShippedModel()
    {
        var loaded = CheckpointLoader.Load(Path.Combine(AppContext.BaseDirectory, "models", "fmnist-hybrid-multires", "model.safetensors"));
        loaded.Model.eval();
        return loaded;
    }

    /// <summary>
    /// The first 256 test images of the bundled Fashion-MNIST sample, normalised as training did (0.5 / 0.5), at the
    /// shipped model's own 28×28 and resized to 56×56 (its table resampled), with the side of each.
    /// </summary>
    private static IEnumerable<(int Side, Tensor Input)> ShippedModelInputs()
    {
        var data = FashionMnist.Open("fashion-mnist:sample", "test");
        var images = stack(Enumerable.Range(0, 256).Select(i => data.Get(i).Image)).sub(0.5).div(0.5);
        yield return (28, images);
        yield return (56, nn.functional.interpolate(images, [56, 56], mode: InterpolationMode.Bilinear, align_corners: false));
    }

    private static Tensor WithNoGrad(VisionTransformer model, Tensor input)
    {
        using var _ = no_grad();
        return model.call(input);
    }
}
