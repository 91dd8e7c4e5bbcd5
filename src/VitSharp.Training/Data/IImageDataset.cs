using static TorchSharp.torch;

namespace VitSharp.Training.Data;

/// <summary>A labelled image dataset that a <see cref="DataLoader"/> reads by index.</summary>
public interface IImageDataset
{
    int Count { get; }

    /// <summary>Class names; the number of classes is <c>Labels.Count</c>.</summary>
    IReadOnlyList<string> Labels { get; }

    /// <summary>1 for Fashion-MNIST, 3 for RGB image folders.</summary>
    int Channels { get; }

    /// <summary>The size every image has: native for Fashion-MNIST (28x28), the load-time resize for image folders.</summary>
    (int Height, int Width) ImageSize { get; }

    /// <summary>Image <paramref name="index"/>: [C, H, W] float32 in [0, 1] (not normalised) on the CPU, and its label. Thread-safe.</summary>
    (Tensor Image, int Label) Get(int index);
}
