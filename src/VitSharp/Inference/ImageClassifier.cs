using SkiaSharp;
using VitSharp.Labels;
using VitSharp.Models;
using static TorchSharp.torch;

namespace VitSharp.Inference;

/// <summary>
/// Classifies images with a ViT: decode, preprocess (an <see cref="Imaging.ImagePreprocessing"/> preset), run the
/// model, softmax, top-k with class names. Not thread-safe: use one instance per thread.
/// </summary>
/// <example>
/// <code>
/// using var classifier = new ImageClassifier("vit_base_patch16_224.safetensors");
/// foreach (var p in classifier.Classify("cat.jpg", topK: 3))
///     Console.WriteLine($"{p.Label}: {p.Probability:P1}");
/// </code>
/// </example>
public sealed class ImageClassifier : IDisposable
{
    private readonly ModelSession session;

    /// <summary>
    /// Loads a checkpoint (any format <see cref="Checkpoints.CheckpointLoader"/> reads) and owns the model.
    /// Class names: <paramref name="labels"/>, else the checkpoint's config, else ImageNet-1k for 1000 classes,
    /// else <c>class N</c> (see <see cref="ClassLabels.Resolve"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The model has no classification head, or the labels do not match it.</exception>
    public ImageClassifier(string checkpointPath, IReadOnlyList<string>? labels = null, InferenceOptions? options = null)
    {
        session = new ModelSession(checkpointPath, options);
        try
        {
            Labels = ResolveLabels(session.Model, labels, session.CheckpointLabels);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Uses a model the caller keeps owning (it is not disposed here; it is put in evaluation mode, and moved when
    /// <see cref="InferenceOptions.Device"/> is set). The preset defaults to <c>timm</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The model has no classification head, or the labels do not match it.</exception>
    public ImageClassifier(VisionTransformer model, IReadOnlyList<string>? labels = null, InferenceOptions? options = null)
    {
        session = new ModelSession(model, options);
        Labels = ResolveLabels(model, labels, null);
    }

    /// <summary>The model that answers.</summary>
    public VisionTransformer Model => session.Model;

    /// <summary>The class names in use and where they came from.</summary>
    public ClassLabels Labels { get; }

    /// <summary>How images become model inputs.</summary>
    public Imaging.ImagePreprocessing Preprocessing => session.Preprocessing;

    /// <summary>Where the model runs.</summary>
    public Device Device => session.Device;

    /// <summary>The <paramref name="topK"/> most probable classes of an image file, most probable first.</summary>
    /// <exception cref="Imaging.ImageLoadException">The file cannot be read as an image.</exception>
    public IReadOnlyList<Prediction> Classify(string path, int topK = 5)
    {
        using var batch = session.Batch(path);
        return Predict(batch, topK)[0];
    }

    /// <summary>The <paramref name="topK"/> most probable classes of an encoded image read from <paramref name="stream"/>.</summary>
    /// <exception cref="Imaging.ImageLoadException">The stream does not hold a readable image.</exception>
    public IReadOnlyList<Prediction> Classify(Stream stream, int topK = 5)
    {
        using var batch = session.Batch(stream, "stream");
        return Predict(batch, topK)[0];
    }

    /// <summary>The <paramref name="topK"/> most probable classes of a decoded image.</summary>
    public IReadOnlyList<Prediction> Classify(SKBitmap image, int topK = 5)
    {
        using var batch = session.Batch(image);
        return Predict(batch, topK)[0];
    }

    /// <summary>
    /// Classifies many files in batches while the next ones are decoded on a background task. Yields one result
    /// per file in input order; a file that cannot be read gives a result with <see cref="FileResult{T}.Error"/>
    /// and the others go on. A model error ends the enumeration with an exception.
    /// </summary>
    public IEnumerable<FileResult<IReadOnlyList<Prediction>>> ClassifyMany(IEnumerable<string> paths, int topK = 5, BatchOptions? batch = null)
    {
        RequireTopK(topK);
        return session.RunMany(paths, images => Predict(images, topK), batch);
    }

    /// <summary>Top-k predictions for each image of a preprocessed batch [B, C, H, W] (any device).</summary>
    public IReadOnlyList<IReadOnlyList<Prediction>> Predict(Tensor images, int topK = 5)
    {
        ArgumentNullException.ThrowIfNull(images);
        RequireTopK(topK);
        if (images.ndim != 4) throw new ArgumentException($"expected a batch [B, C, H, W], got [{string.Join(", ", images.shape)}]");
        int k = Math.Min(topK, Labels.Count);

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logits = Model.call(images.to(session.DType, Device));
        var (values, indices) = softmax(logits.to(ScalarType.Float32), 1).topk(k, dim: 1);
        float[] probabilities = values.cpu().data<float>().ToArray();
        long[] classes = indices.cpu().data<long>().ToArray();

        var results = new IReadOnlyList<Prediction>[images.shape[0]];
        for (int b = 0; b < results.Length; b++)
        {
            var row = new Prediction[k];
            for (int j = 0; j < k; j++)
            {
                int index = (int)classes[b * k + j];
                row[j] = new Prediction(Labels[index], index, probabilities[b * k + j]);
            }
            results[b] = row;
        }
        return results;
    }

    /// <summary>Disposes the model when it was loaded from a path.</summary>
    public void Dispose() => session.Dispose();

    private static ClassLabels ResolveLabels(VisionTransformer model, IReadOnlyList<string>? given, IReadOnlyList<string>? fromCheckpoint)
    {
        if (model.Config.NumClasses == 0)
            throw new ArgumentException("the model has no classification head (num_classes 0); use FeatureExtractor for its features");
        return ClassLabels.Resolve(model.Config.NumClasses, given, fromCheckpoint);
    }

    private static void RequireTopK(int topK) => ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
}
