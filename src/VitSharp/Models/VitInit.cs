using TorchSharp.Modules;
using VitSharp.Kernels;
using static TorchSharp.torch;

namespace VitSharp.Models;

/// <summary>timm's default ViT initialisation: truncated normal (std 0.02) for linear-layer weights and the position table, zero biases, tiny class/register tokens.</summary>
internal static class VitInit
{
    public static void Apply(nn.Module model, Parameter? clsToken, Parameter? regToken, Parameter? learnedPosEmbed)
    {
        using var _ = no_grad();
        if (learnedPosEmbed is not null) TruncNormal(learnedPosEmbed, std: 0.02);
        if (clsToken is not null) nn.init.normal_(clsToken, std: 1e-6);
        if (regToken is not null) nn.init.normal_(regToken, std: 1e-6);
        foreach (var (_, module) in model.named_modules())
        {
            var (weight, bias) = module switch
            {
                LinearLayer layer => (layer.Weight, layer.Bias),
                Linear linear => (linear.weight!, linear.bias),
                _ => (null, null),
            };
            if (weight is null) continue;
            TruncNormal(weight, std: 0.02);
            if (bias is not null) nn.init.zeros_(bias);
        }
    }

    /// <summary>
    /// PyTorch's <c>trunc_normal_(t, mean, std, a, b)</c> (inverse-CDF sampling, values clamped to [a, b]).
    /// TorchSharp 0.107's <c>nn.init.trunc_normal_</c> swaps mean and std and drops the √2, filling the tensor with
    /// the constant <c>std</c> for mean 0, so VitSharp does not use it.
    /// </summary>
    public static Tensor TruncNormal(Tensor tensor, double std, double mean = 0, double a = -2, double b = 2)
    {
        static double NormCdf(double x) => (1 + Erf(x / Math.Sqrt(2))) / 2;
        double low = NormCdf((a - mean) / std), high = NormCdf((b - mean) / std);
        using var _ = no_grad();
        tensor.uniform_(2 * low - 1, 2 * high - 1).erfinv_().mul_(std * Math.Sqrt(2)).add_(mean).clamp_(a, b);
        return tensor;
    }

    /// <summary>The error function in float64, from libtorch (.NET has no Math.Erf).</summary>
    private static double Erf(double x)
    {
        using var t = tensor(x, ScalarType.Float64);
        using var e = t.erf();
        return e.item<double>();
    }
}
