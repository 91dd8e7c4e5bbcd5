using VitSharp.Checkpoints;
using VitSharp.Imaging;
using static TorchSharp.torch;

namespace VitSharp.Inference;

/// <summary>How <see cref="ImageClassifier"/> and <see cref="FeatureExtractor"/> prepare images and where the model runs.</summary>
public sealed record InferenceOptions
{
    /// <summary>
    /// An <see cref="ImagePreprocessing"/> preset (<c>timm</c>, <c>torchvision</c>, <c>dino</c>, <c>native</c>,
    /// <c>resize</c>); null = the checkpoint family's own (<c>torchvision</c> for torchvision, <c>dino</c> for DINO
    /// and DINOv2, <c>timm</c> otherwise and for a model given directly).
    /// </summary>
    public string? Preset { get; init; }

    /// <summary>Patch budget of the <c>native</c> preset; null = the model's own grid.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>
    /// Where the model runs (<c>new Device("cuda")</c>); null = CPU for a checkpoint path, the model's own device
    /// for a model given directly. Inputs are moved there and results come back to the CPU.
    /// </summary>
    public Device? Device { get; init; }

    /// <summary>
    /// The dtype the model computes in: null or float32 as loaded, <c>BFloat16</c> (weights converted once; ViT-S/B
    /// ran 1.6–1.9× as fast as float32 on a CPU with AVX-512-BF16, docs/benchmarks.md, and slower without it or AMX;
    /// top-1 agreeing with float32 on 99 %+ of images) or <c>Float16</c> (GPUs). Images are converted to it;
    /// probabilities and embeddings come back as float32.
    /// </summary>
    public ScalarType? DType { get; init; }

    /// <summary>Size bounds checked before an image is decoded; null = <see cref="ImageLimits.Default"/>.</summary>
    public ImageLimits? Limits { get; init; }

    /// <summary>How to read a checkpoint given by path (architecture hints, strictness, ...); <see cref="Device"/> overrides its device.</summary>
    public CheckpointLoadOptions? LoadOptions { get; init; }
}
