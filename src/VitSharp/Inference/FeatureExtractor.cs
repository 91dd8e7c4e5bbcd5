using SkiaSharp;
using VitSharp.Models;
using static TorchSharp.torch;

namespace VitSharp.Inference;

/// <summary>
/// Turns images into embeddings: the model's pooled or class-token features before the head
/// (<see cref="VisionTransformer.ForwardHead"/> with <c>preLogits: true</c>), one vector of
/// <see cref="Dimension"/> floats per image. Not thread-safe: use one instance per thread.
/// </summary>
/// <example>
/// <code>
/// using var extractor = new FeatureExtractor("dinov2_vits14.pth", new InferenceOptions { Preset = "dino" });
/// float[] a = extractor.Embed("a.jpg"), b = extractor.Embed("b.jpg");
/// </code>
/// </example>
public sealed class FeatureExtractor : IDisposable
{
    private readonly ModelSession session;

    /// <summary>Loads a checkpoint (any format <see cref="Checkpoints.CheckpointLoader"/> reads) and owns the model.</summary>
    public FeatureExtractor(string checkpointPath, InferenceOptions? options = null) => session = new ModelSession(checkpointPath, options);

    /// <summary>
    /// Uses a model the caller keeps owning (it is not disposed here; it is put in evaluation mode, and moved when
    /// <see cref="InferenceOptions.Device"/> is set). The preset defaults to <c>timm</c>.
    /// </summary>
    public FeatureExtractor(VisionTransformer model, InferenceOptions? options = null) => session = new ModelSession(model, options);

    /// <summary>The model whose features are returned.</summary>
    public VisionTransformer Model => session.Model;

    /// <summary>Length of each embedding: the model's width.</summary>
    public int Dimension => session.Model.Config.EmbedDim;

    /// <summary>How images become model inputs.</summary>
    public Imaging.ImagePreprocessing Preprocessing => session.Preprocessing;

    /// <summary>Where the model runs.</summary>
    public Device Device => session.Device;

    /// <summary>The embedding of an image file.</summary>
    /// <exception cref="Imaging.ImageLoadException">The file cannot be read as an image.</exception>
    public float[] Embed(string path)
    {
        using var batch = session.Batch(path);
        return Row(batch);
    }

    /// <summary>The embedding of an encoded image read from <paramref name="stream"/>.</summary>
    /// <exception cref="Imaging.ImageLoadException">The stream does not hold a readable image.</exception>
    public float[] Embed(Stream stream)
    {
        using var batch = session.Batch(stream, "stream");
        return Row(batch);
    }

    /// <summary>The embedding of a decoded image.</summary>
    public float[] Embed(SKBitmap image)
    {
        using var batch = session.Batch(image);
        return Row(batch);
    }

    /// <summary>Embeddings of a preprocessed batch [B, C, H, W] (any device) as a CPU float32 tensor [B, D]; the caller disposes it.</summary>
    public Tensor EmbedBatch(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.ndim != 4) throw new ArgumentException($"expected a batch [B, C, H, W], got [{string.Join(", ", images.shape)}]");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var features = Model.ForwardHead(Model.ForwardFeatures(images.to(session.DType, Device)), preLogits: true);
        return features.to(ScalarType.Float32).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Embeds many files in batches while the next ones are decoded on a background task. Yields one result per
    /// file in input order; a file that cannot be read gives a result with <see cref="FileResult{T}.Error"/> and
    /// the others go on. A model error ends the enumeration with an exception.
    /// </summary>
    public IEnumerable<FileResult<float[]>> EmbedMany(IEnumerable<string> paths, BatchOptions? batch = null) =>
        session.RunMany(paths, Rows, batch);

    /// <summary>Disposes the model when it was loaded from a path.</summary>
    public void Dispose() => session.Dispose();

    private float[] Row(Tensor batch) => Rows(batch)[0];

    private float[][] Rows(Tensor images)
    {
        using var features = EmbedBatch(images);
        using var dense = features.contiguous();
        int d = (int)dense.shape[1];
        float[] all = dense.data<float>().ToArray();
        return [.. Enumerable.Range(0, (int)features.shape[0]).Select(b => all.AsSpan(b * d, d).ToArray())];
    }
}
