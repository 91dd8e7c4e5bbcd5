using VitSharp.Benchmarking;
using VitSharp.IO;
using VitSharp.Kernels;
using VitSharp.Native;
using VitSharp.PosEmbed;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace VitSharp.Bench.Peers;

/// <summary>
/// The control: the same ViT written as one function over bare TorchSharp tensors (no modules, no hooks, no dispose
/// scopes beyond one per pass), with the position table resampled once, in inference mode. VitSharp's
/// model must run at least 0.95 times as fast ("the library costs nothing"). It uses the kernels that VitSharp's
/// <c>Auto</c> settings pick for a packed model (as <c>vitsharp bench</c> times it), by the same rules: linear layers
/// from weights packed once for oneDNN (<see cref="OneDnnPackedLinear"/>, an odd number of rows on one more where
/// <see cref="PackedLinearRowPadding"/> times that faster), the attention <see cref="KernelSelection"/> picks (libtorch's
/// fused kernel for ViT-S/B; <see cref="OneDnnAttention"/> only if a selection ever takes it again), each through the
/// same checks against libtorch as VitSharp's. So the ratio measures the library's own cost, not a choice of kernel.
/// </summary>
internal static class ControlPeer
{
    public static int Run(Args a)
    {
        TorchRuntime.EnsureLoaded();
        var (h, w) = a.Size();
        int batch = a.Int("--batch"), threads = a.Int("--threads"), heads = a.Int("--heads");
        set_num_threads(threads);
        using var file = SafeTensors.Read(a.Text("--weights"));
        var p = file.ToDictionary().ToDictionary(kv => kv.Key, kv => kv.Value.contiguous());
        int depth = p.Keys.Count(k => k.EndsWith(".attn.qkv.weight", StringComparison.Ordinal));
        int dim = (int)p["pos_embed"].shape[2];
        var grid = new GridSize(h / 16, w / 16);
        p["pos_embed"] = PosEmbedResampler.Resample(p["pos_embed"], GridSize.Square(14), grid, 1, PosEmbedResampling.Timm);

        bool packed = OneDnnPackedLinear.IsAvailable;
        var packs = packed ? p.Where(kv => kv.Key.EndsWith(".weight", StringComparison.Ordinal) && kv.Value.dim() == 2)
            .ToDictionary(kv => kv.Key, kv => PackedLinearWeight.TryPack(kv.Value)!) : [];
        Tensor Linear(Tensor x, string name, long rows)
        {
            var (weight, bias) = (p[name + ".weight"], p[name + ".bias"]);
            bool fromPack = packed && KernelSelection.ChooseLinear(LinearKernel.Auto, rows, weight.shape[1], weight.shape[0], ScalarType.Float32,
                TorchSharp.DeviceType.CPU, gradients: false, servingPack: true) == KernelSelection.LinearPath.Packed;
            return (fromPack ? PackedLinearRowPadding.TryForward(x, rows, packs[name + ".weight"], bias) : null) ?? F.linear(x, weight, bias);
        }

        Tensor Forward(Tensor images)
        {
            long b = images.shape[0];
            var x = F.conv2d(images, p["patch_embed.proj.weight"], p["patch_embed.proj.bias"], strides: [16, 16]).flatten(2).transpose(1, 2);
            x = cat([p["cls_token"].expand(b, -1, -1), x], 1) + p["pos_embed"];
            long n = x.shape[1], rows = b * n, headDim = dim / heads;
            var plan = KernelSelection.ChooseAttention(AttentionKernel.Auto, b, n, heads, headDim, ScalarType.Float32, TorchSharp.DeviceType.CPU, gradients: false, dropout: false);
            for (int i = 0; i < depth; i++)
            {
                string k = $"blocks.{i}.";
                var y = F.layer_norm(x, [dim], p[k + "norm1.weight"], p[k + "norm1.bias"], 1e-6);
                var qkv = Linear(y, k + "attn.qkv", rows);
                var context = plan.TryOneDnn ? OneDnnAttention.TryForward(qkv, b, n, heads, headDim, Math.Pow(headDim, -0.5)) : null;
                if (context is null)
                {
                    var parts = qkv.reshape(b, n, 3, heads, headDim).permute(2, 0, 3, 1, 4).unbind(0);
                    var perHead = plan.Math
                        ? F.softmax(parts[0].mul(Math.Pow(headDim, -0.5)).matmul(parts[1].transpose(-2, -1)), -1).matmul(parts[2])
                        : F.scaled_dot_product_attention(parts[0], parts[1], parts[2]);
                    context = perHead.transpose(1, 2).reshape(b, n, dim);
                }
                x = x + Linear(context, k + "attn.proj", rows);
                y = F.layer_norm(x, [dim], p[k + "norm2.weight"], p[k + "norm2.bias"], 1e-6);
                x = x + Linear(F.gelu(Linear(y, k + "mlp.fc1", rows)), k + "mlp.fc2", rows);
            }
            x = F.layer_norm(x, [dim], p["norm.weight"], p["norm.bias"], 1e-6);
            return Linear(x[.., 0], "head", b);
        }

        using (inference_mode())
        {
            using (var check = SafeTensors.Read(a.Text("--check")))
            using (NewDisposeScope())
            {
                double error = (Forward(check.Get("input")) - check.Get("logits")).abs().max().item<float>();
                if (error > 1e-3) throw new InvalidOperationException($"the control's logits differ from PyTorch's by {error:E2}");
                Console.Error.WriteLine($"control: max |logit - pytorch| = {error:E2}");
            }
            using var input = randn(batch, 3, h, w);
            var latencies = PassTimer.Time(() => { using var _ = NewDisposeScope(); Forward(input); },
                a.Int("--warmup", 3), a.Int("--iterations", 10), a.Double("--seconds", 5), a.Double("--warmup-seconds", 5));
            var result = Timing.Result("torchsharp-control", a.Text("--arch"), $"{h}x{w}", batch, "fp32", threads, latencies);
            result["linear"] = packed ? "onednn-packed" : "blas";
            Console.WriteLine(result.ToJsonString());
        }
        return 0;
    }
}
