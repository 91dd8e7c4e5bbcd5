using VitSharp.Kernels;
using VitSharp.Models;

namespace VitSharp.Tests.Models;

/// <summary>How many of a model's linear layers ran from their packs in its last forward pass.</summary>
internal static class ProfiledLinears
{
    public static int RanPacked(VisionTransformer model) =>
        model.modules().OfType<LinearLayer>().Count(layer => layer.LastPath == KernelSelection.LinearPath.Packed);
}
