using VitSharp.Benchmarking;
using VitSharp.IO;
using VitSharp.Modules;
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
/// from weights packed once for oneDNN (<see cref="OneDnnPackedLinear"/>, fc1 with its GELU, an odd number of rows on
/// one more where <see cref="PackedLinearRowPadding"/> times that faster), attention by oneDNN
/// where <see cref="Attention"/> takes it (<see cref="OneDnnAttention"/>), libtorch's fused kernel elsewhere. So the
/// ratio measures the library's own cost, not a choice of kernel.
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
            .ToDictionary(kv => kv.Key, kv => OneDnnPackedLinear.Pack(kv.Value)) : [];
        Tensor Linear(Tensor x, string name, long rows, bool gelu = false)
        {
            var (weight, bias) = (p[name + ".weight"], p[name + ".bias"]);
            if (packed && rows * weight.shape[0] * weight.shape[1] >= LinearKernels.AutoPackedMinMultiplyAdds)
                return PackedLinearRowPadding.Forward(x, rows, packs[name + ".weight"], bias, gelu);
            var y = F.linear(x, weight, bias);
            return gelu ? F.gelu(y) : y;
        }

        Tensor Forward(Tensor images)
        {
            long b = images.shape[0];
            var x = F.conv2d(images, p["patch_embed.proj.weight"], p["patch_embed.proj.bias"], strides: [16, 16]).flatten(2).transpose(1, 2);
            x = cat([p["cls_token"].expand(b, -1, -1), x], 1) + p["pos_embed"];
            long n = x.shape[1], rows = b * n, headDim = dim / heads;
            bool oneDnnAttention = OneDnnAttention.IsAvailable && headDim >= Attention.AutoOneDnnMinHeadDim && b * heads * n * n <= Attention.AutoOneDnnMaxScores;
            for (int i = 0; i < depth; i++)
            {
                string k = $"blocks.{i}.";
                var y = F.layer_norm(x, [dim], p[k + "norm1.weight"], p[k + "norm1.bias"], 1e-6);
                var qkv = Linear(y, k + "attn.qkv", rows);
                Tensor context;
                if (oneDnnAttention)
                {
                    context = OneDnnAttention.Forward(qkv, heads, Math.Pow(headDim, -0.5));
                }
                else
                {
                    var parts = qkv.reshape(b, n, 3, heads, headDim).permute(2, 0, 3, 1, 4).unbind(0);
                    context = F.scaled_dot_product_attention(parts[0], parts[1], parts[2]).transpose(1, 2).reshape(b, n, dim);
                }
                x = x + Linear(context, k + "attn.proj", rows);
                y = F.layer_norm(x, [dim], p[k + "norm2.weight"], p[k + "norm2.bias"], 1e-6);
                x = x + Linear(Linear(y, k + "mlp.fc1", rows, gelu: true), k + "mlp.fc2", rows);
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
