using System.CommandLine;

namespace VitSharp.Cli;

/// <summary>
/// The Fashion-MNIST ViT that VitSharp trained itself (<c>models/fmnist-hybrid-multires</c> in the repository, model card there),
/// copied beside the CLI at build time so that the demo has real weights with no download.
/// </summary>
internal static class ShippedModel
{
    public const string Name = "fmnist-hybrid-multires";

    /// <summary>The weights file beside the CLI; <c>model.json</c> (config and class names) sits next to it.</summary>
    public static string WeightsPath => Path.Combine(AppContext.BaseDirectory, "models", Name, "model.safetensors");

    /// <summary>
    /// A <c>--weights</c> option that defaults to the shipped model, so that the examples run as they are
    /// (<c>vitsharp classify shirt.png</c>); the file is checked when the command runs (<see cref="RequireWeights"/>).
    /// </summary>
    public static Option<string?> WeightsOption(string description) =>
        new("--weights") { Description = $"{description} (default: the shipped {Name}, trained by VitSharp on Fashion-MNIST)" };

    /// <summary>The <c>--weights</c> a command was given, or the shipped model's.</summary>
    public static string WeightsOrShipped(string? given) => given ?? RequireWeights();

    /// <summary><see cref="WeightsPath"/>, or a clear error when a build left it out.</summary>
    public static string RequireWeights()
    {
        string path = WeightsPath;
        if (!File.Exists(path))
            throw new FileNotFoundException($"the shipped model is not beside the CLI ({path}); rebuild from a full clone, or pass --weights FILE");
        return path;
    }
}
