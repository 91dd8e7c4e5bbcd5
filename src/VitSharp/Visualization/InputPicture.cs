using SkiaSharp;
using static TorchSharp.torch;

namespace VitSharp.Visualization;

/// <summary>Turns a model input back into the picture the model saw, to draw maps over.</summary>
public static class InputPicture
{
    /// <summary>
    /// An opaque RGBA picture of a normalised input <c>[C, H, W]</c> (C = 1 or 3): <c>x · std + mean</c> per channel,
    /// clamped to 0..1; one channel becomes grey.
    /// </summary>
    public static SKBitmap FromNormalized(Tensor input, IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.ndim != 3 || input.shape[0] is not (1 or 3))
            throw new ArgumentException($"expected an input [C, H, W] with 1 or 3 channels, got [{string.Join(", ", input.shape)}]", nameof(input));
        int channels = (int)input.shape[0], height = checked((int)input.shape[1]), width = checked((int)input.shape[2]);
        if (mean.Count != channels || std.Count != channels) throw new ArgumentException($"mean and std need {channels} values, got {mean.Count} and {std.Count}");

        using var values = input.detach().to(ScalarType.Float32).cpu().contiguous();
        var data = values.data<float>().ToArray();
        int plane = width * height;
        byte Channel(int c, int i) => (byte)MathF.Round(Math.Clamp(data[c * plane + i] * std[c] + mean[c], 0, 1) * 255);

        var pixels = new SKColor[plane];
        for (int i = 0; i < plane; i++)
            pixels[i] = channels == 3 ? new SKColor(Channel(0, i), Channel(1, i), Channel(2, i)) : new SKColor(Channel(0, i), Channel(0, i), Channel(0, i));
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Pixels = pixels;
        return bitmap;
    }
}
