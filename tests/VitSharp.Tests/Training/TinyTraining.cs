using VitSharp.Models;
using VitSharp.PosEmbed;
using VitSharp.Training;
using VitSharp.Training.Data;
using static TorchSharp.torch;

namespace VitSharp.Tests.Training;

/// <summary>A 2-class in-memory dataset of 8x8 greyscale images (bright left half vs bright right half, plus noise) and a tiny ViT for it.</summary>
internal sealed class TinyDataset(int count) : IImageDataset
{
    public int Count => count;
    public IReadOnlyList<string> Labels { get; } = ["left", "right"];
    public int Channels => 1;
    public (int Height, int Width) ImageSize => (8, 8);

    public (Tensor Image, int Label) Get(int index)
    {
        int label = index % 2;
        var random = new Random(index);
        var pixels = new float[64];
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
                pixels[y * 8 + x] = (x < 4) == (label == 0) ? 0.8f : 0.2f + 0.3f * (float)random.NextDouble();
        return (tensor(pixels, [1, 8, 8]), label);
    }
}

internal static class TinyTraining
{
    public static VitConfig Config { get; } = new()
    {
        ImgSize = GridSize.Square(8), PatchSize = 4, InChans = 1, NumClasses = 2, EmbedDim = 16, Depth = 2, NumHeads = 2, DropPathRate = 0.1,
    };

    public static VisionTransformer Model()
    {
        manual_seed(7);
        return new VisionTransformer(Config);
    }

    /// <summary>Batches of 8 (32 images: 4 per epoch) with label smoothing and mixup (so the targets are soft), loaded on the test thread.</summary>
    public static DataLoader Loader(int images = 32, double mixup = 0.2) =>
        new(new TinyDataset(images), batchSize: 8, shuffle: true, seed: 3, new AugmentOptions { LabelSmoothing = 0.1, Mixup = mixup }, dropLast: true, workers: 0);

    public static TrainerOptions Options(int epochs) => new()
    {
        Epochs = epochs, Lr = 5e-3, MinLr = 1e-4, WarmupEpochs = 0.5, EmaDecay = 0.9, EmaWarmup = true, Seed = 11, CheckpointInterval = TimeSpan.Zero,
    };
}

/// <summary>
/// Training draws dropout and drop-path masks from TorchSharp's one global generator, re-seeded every step; tests in
/// this collection run alone, so that no test running in parallel draws from it between the seed and the masks.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRngCollection
{
    public const string Name = "global torch RNG";
}
