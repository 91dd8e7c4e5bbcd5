using System.CommandLine;
using VitSharp.Imaging;
using VitSharp.Inference;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>
/// The options <c>classify</c> and <c>embed</c> share: the checkpoint, the images, how they are prepared and
/// batched, where the model runs, and the exit code for runs where some files failed.
/// </summary>
internal sealed class ImageRunOptions
{
    /// <summary>Exit code when the run finished but at least one input file could not be used.</summary>
    public const int SomeFilesFailed = 3;

    private readonly Option<string?> weights = ShippedModel.WeightsOption("a checkpoint (any format 'vitsharp inspect' reads) or a hub folder");
    private readonly Argument<string[]> images = new("images") { Description = "image files, folders (searched recursively for image extensions) and @LIST files (one path per line)", Arity = ArgumentArity.OneOrMore };
    private readonly Option<string?> preset = new("--preset") { Description = $"image preprocessing: {string.Join(", ", ImagePreprocessing.PresetNames)} (default: the checkpoint family's own; timm for timm, DeiT, Hugging Face)" };
    private readonly Option<int?> maxTokens = new("--max-tokens") { Description = "patch budget of the native preset (default: the model's own grid)" };
    private readonly Option<int> batch = new("--batch") { Description = "images per forward pass; only images of the same preprocessed size share one", DefaultValueFactory = _ => 8 };
    private readonly Option<long?> maxPixels = new("--max-pixels") { Description = $"refuse images with more pixels than this, before decoding them (default {ImageLimits.Default.MaxPixels:N0})" };
    private readonly Option<string> device = new("--device") { Description = "cpu or cuda (a CUDA build of libtorch must be referenced)", DefaultValueFactory = _ => "cpu" };
    private readonly Option<string> dtype = new("--dtype") { Description = CliInputs.DTypeHelp, DefaultValueFactory = _ => "fp32" };
    private readonly Option<bool> followLinks = new("--follow-links") { Description = "in folders, follow symbolic links to other folders too (each folder is walked once, so a link back to a parent is harmless)" };
    private readonly CheckpointOptions checkpoint = new();

    public Option<bool> Json { get; } = new("--json") { Description = "one JSON object per line (JSON Lines) on stdout; no progress bar" };

    public void AddTo(Command command)
    {
        command.Options.Add(weights);
        command.Arguments.Add(images);
        foreach (var option in new Option[] { preset, maxTokens, batch, maxPixels, followLinks, Json, device, dtype }) command.Options.Add(option);
        checkpoint.AddTo(command);
    }

    public string Weights(ParseResult r) => ShippedModel.WeightsOrShipped(r.GetValue(weights));

    /// <summary>The image files the arguments name, in order; refuses an empty list before the model is loaded.</summary>
    public IReadOnlyList<string> Files(ParseResult r)
    {
        var files = ImageInputs.Expand(r.GetValue(images) ?? [], r.GetValue(followLinks));
        if (files.Count == 0) throw new ArgumentException($"no image files found (extensions: {string.Join(' ', ImageFile.Extensions)})");
        return files;
    }

    public BatchOptions Batch(ParseResult r)
    {
        int size = r.GetValue(batch);
        if (size < 1) throw new ArgumentException($"--batch must be at least 1, got {size}");
        return new BatchOptions { BatchSize = size };
    }

    public InferenceOptions Inference(ParseResult r)
    {
        var computeDType = CliInputs.ParseDType(r.GetValue(dtype)!);
        var computeDevice = new Device(r.GetValue(device)!);
        CliInputs.WarnIfSlowBf16(r.InvocationConfiguration.Error, computeDType, computeDevice.type);
        return new InferenceOptions
        {
            Preset = r.GetValue(preset),
            MaxTokens = r.GetValue(maxTokens),
            Device = computeDevice,
            DType = computeDType,
            LoadOptions = checkpoint.Read(r),
            Limits = r.GetValue(maxPixels) is { } pixels
                ? (pixels > 0 ? ImageLimits.Default with { MaxPixels = pixels } : throw new ArgumentException($"--max-pixels must be positive, got {pixels}"))
                : ImageLimits.Default,
        };
    }

    /// <summary>The line reported for a file that could not be used.</summary>
    public static string Problem<T>(FileResult<T> result) where T : class => $"{result.Path}: {result.Error}";
}
