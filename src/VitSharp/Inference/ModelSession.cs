using SkiaSharp;
using TorchSharp;
using VitSharp.Checkpoints;
using VitSharp.Imaging;
using VitSharp.Models;
using static TorchSharp.torch;

namespace VitSharp.Inference;

/// <summary>
/// What <see cref="ImageClassifier"/> and <see cref="FeatureExtractor"/> share: the model (owned when loaded from a
/// path), its device, the preprocessing, and image-to-batch plumbing.
/// </summary>
internal sealed class ModelSession : IDisposable
{
    private readonly LoadedCheckpoint? owned;

    public ModelSession(string checkpointPath, InferenceOptions? options)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpointPath);
        options ??= new InferenceOptions();
        var load = options.LoadOptions ?? new CheckpointLoadOptions();
        if (options.Device is not null) load = load with { Device = options.Device };
        owned = CheckpointLoader.Load(checkpointPath, load);
        try
        {
            Model = owned.Model;
            Device = load.Device ?? CPU;
            DType = ConvertTo(Model, options.DType);
            // The session owns these weights and never changes them: pack them once for oneDNN (float32 on x86-64
            // CPUs, and bf16 where they have its instructions; elsewhere this does nothing). A model passed in by the caller is left as it is, since its owner
            // may change its weights in place; they can call PackLinearWeights themselves.
            Model.PackLinearWeights();
            CheckpointLabels = owned.Summary.Labels;
            Preprocessing = ImagePreprocessing.ForModel(options.Preset ?? DefaultPreset(owned.Summary.Family), Model.Config, options.MaxTokens);
            Limits = options.Limits;
        }
        catch
        {
            owned.Dispose();
            throw;
        }
    }

    public ModelSession(VisionTransformer model, InferenceOptions? options)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new InferenceOptions();
        Model = model;
        if (options.Device is { } device) model.to(device);
        Device = options.Device ?? model.parameters().First().device;
        DType = ConvertTo(model, options.DType);
        Preprocessing = ImagePreprocessing.ForModel(options.Preset ?? "timm", model.Config, options.MaxTokens);
        Limits = options.Limits;
        // Dropout and the like must not change answers.
        model.eval();
    }

    public VisionTransformer Model { get; }
    public Device Device { get; }

    /// <summary>The dtype of the model's weights; images are converted to it.</summary>
    public ScalarType DType { get; }
    public ImagePreprocessing Preprocessing { get; }
    public ImageLimits? Limits { get; }

    /// <summary>Class names from the config beside a checkpoint, when there was one.</summary>
    public IReadOnlyList<string>? CheckpointLabels { get; }

    /// <summary>Converts the model's floating weights to <paramref name="dtype"/> (when given) and returns the dtype it computes in.</summary>
    private static ScalarType ConvertTo(VisionTransformer model, ScalarType? dtype)
    {
        if (dtype is { } d)
        {
            if (d is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
                throw new ArgumentException($"models run in float32, bfloat16 or float16, not {d}");
            if (model.PosEmbedParameter.dtype != d) model.to(d);
        }
        return model.PosEmbedParameter.dtype;
    }

    /// <summary>The preset that matches each family's own evaluation transform.</summary>
    public static string DefaultPreset(CheckpointFamily family) => family switch
    {
        CheckpointFamily.TorchVision => "torchvision",
        CheckpointFamily.Dino or CheckpointFamily.DinoV2 => "dino",
        _ => "timm",
    };

    /// <summary>A batch of one [1, C, H, W] from a decoded image.</summary>
    public Tensor Batch(SKBitmap image)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var single = Preprocessing.Prepare(image);
        return single.unsqueeze(0);
    }

    public Tensor Batch(string path)
    {
        using var image = ImageFile.Load(path, Limits);
        return Batch(image);
    }

    public Tensor Batch(Stream stream, string name)
    {
        using var image = ImageFile.Load(stream, name, Limits);
        return Batch(image);
    }

    /// <summary>Runs <paramref name="run"/> over image files with the shared batch runner.</summary>
    public IEnumerable<FileResult<T>> RunMany<T>(IEnumerable<string> paths, Func<Tensor, IReadOnlyList<T>> run, BatchOptions? batch) where T : class
    {
        ArgumentNullException.ThrowIfNull(paths);
        batch ??= new BatchOptions();
        if (batch.Limits is null && Limits is not null) batch = batch with { Limits = Limits };
        return ImageBatchRunner.Run(paths.ToList(), Preprocessing, run, batch);
    }

    public void Dispose() => owned?.Dispose();
}
