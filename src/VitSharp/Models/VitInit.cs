using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VitSharp.Models;

/// <summary>timm's default ViT initialisation: truncated normal (std 0.02) for Linear weights and the position table, zero biases, tiny class/register tokens.</summary>
internal static class VitInit
{
    public static void Apply(nn.Module model, Parameter? clsToken, Parameter? regToken, Parameter? learnedPosEmbed)
    {
        using var _ = no_grad();
        if (learnedPosEmbed is not null) nn.init.trunc_normal_(learnedPosEmbed, std: 0.02);
        if (clsToken is not null) nn.init.normal_(clsToken, std: 1e-6);
        if (regToken is not null) nn.init.normal_(regToken, std: 1e-6);
        foreach (var (_, module) in model.named_modules())
        {
            if (module is not Linear linear) continue;
            nn.init.trunc_normal_(linear.weight!, std: 0.02);
            if (linear.bias is not null) nn.init.zeros_(linear.bias);
        }
    }
}
