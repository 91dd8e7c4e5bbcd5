using TorchSharp;
using VitSharp.Checkpoints.Families;
using VitSharp.IO;
using VitSharp.Models;
using VitSharp.PosEmbed;
using VitSharp.Weights;
using static TorchSharp.torch;

namespace VitSharp.Checkpoints;

/// <summary>
/// Loads a ViT from a checkpoint of any supported format and family: opens the file (headers only), finds the
/// state_dict inside its wrappers, detects the naming family and maps it to timm's layout, infers the
/// architecture from the shapes, builds the model, adapts the position table, patch kernel and head to the model
/// when asked to differ, and copies the tensors in one at a time after checking every name and shape.
/// </summary>
public static class CheckpointLoader
{
    /// <summary>The safetensors metadata key under which VitSharp's exports store their config JSON.</summary>
    public const string ConfigMetadataKey = "vitsharp.config";

    /// <summary>Describes the checkpoint at <paramref name="path"/> without reading any tensor.</summary>
    /// <exception cref="IOException">The file cannot be read or understood; the message says why.</exception>
    public static CheckpointSummary Inspect(string path, CheckpointLoadOptions? options = null)
    {
        using var source = CheckpointFile.Open(path);
        return Analyse(path, source, options ?? new CheckpointLoadOptions()).Summary;
    }

    /// <summary>Builds the model the checkpoint describes (changed by <see cref="CheckpointLoadOptions.Configure"/>) and fills it.</summary>
    /// <exception cref="IOException">The file cannot be read or understood.</exception>
    /// <exception cref="WeightsLoadException">The weights do not fit the model (strict mode: any missing or unexpected key).</exception>
    public static LoadedCheckpoint Load(string path, CheckpointLoadOptions? options = null)
    {
        options ??= new CheckpointLoadOptions();
        using var source = CheckpointFile.Open(path);
        var (summary, mapped) = Analyse(path, source, options);

        VitConfig fileConfig = summary.Architecture;
        VitConfig modelConfig = options.Configure?.Invoke(fileConfig) ?? fileConfig;
        if (options.RuntimeResampling is { } runtime) modelConfig = modelConfig with { PosEmbedResampling = runtime };

        if (options.Strict && mapped.Unknown.Count > 0)
            throw new WeightsLoadException($"'{path}' has keys the {summary.Family.Name()} naming does not explain: {string.Join(", ", mapped.Unknown.Take(6))}{(mapped.Unknown.Count > 6 ? $", ... ({mapped.Unknown.Count} in all)" : "")} (load non-strict to skip them)");

        var model = new VisionTransformer(modelConfig, initializeWeights: false);
        try
        {
            var (tensors, adaptations, allowedMissing) = Adapt(mapped.Tensors, fileConfig, modelConfig, options.LoadResampling);
            // Weights the file does not fill (a new head, a lenient load) start from timm's initialisation.
            var provided = tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            if (model.state_dict().Keys.Any(k => !provided.Contains(k))) model.InitializeWeights();
            var report = StateDictLoader.Load(model, tensors, options.Strict, allowedMissing);
            report = report with { Unexpected = [.. report.Unexpected, .. mapped.Unknown] };
            if (options.Device is { } device) model.to(device);
            model.eval();
            return new LoadedCheckpoint(model, summary, report, adaptations);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static (CheckpointSummary Summary, MappedWeights Mapped) Analyse(string path, ICheckpointSource source, CheckpointLoadOptions options)
    {
        try
        {
            var selection = StateDictSelection.Select(source.Tensors, options.Wrapper);
            var family = options.Family ?? FamilyDetector.Detect(selection, source.Format);
            var mapped = FamilyDetector.Map(family, selection.Tensors);
            var hints = options.Hints ?? HintsFromMetadata(source) ?? ArchitectureHints.FindBeside(CheckpointFile.Resolve(path));
            if (options.NumHeads is { } heads) hints = hints with { NumHeads = heads };
            var inferred = ArchitectureInference.Infer(mapped.Tensors, family, hints);
            var summary = new CheckpointSummary(
                source.SourceName, source.Format, family, selection.Wrapper, selection.StrippedPrefixes,
                inferred.Config, inferred.Guesses, hints.Source, hints.Labels,
                mapped.Tensors.Sum(t => t.ElementCount),
                mapped.Tensors.GroupBy(t => t.DType).ToDictionary(g => g.Key, g => g.Count()),
                [.. selection.Notes, .. mapped.Ignored], mapped.Unknown, source.NonTensorEntries, source.Metadata);
            return (summary, mapped);
        }
        catch (CheckpointException e)
        {
            throw new CheckpointException($"cannot load '{source.SourceName}': {e.Message}");
        }
    }

    private static ArchitectureHints? HintsFromMetadata(ICheckpointSource source) =>
        source.Metadata.TryGetValue(ConfigMetadataKey, out string? json)
            ? ArchitectureHints.FromJson(json) with { Source = $"{source.SourceName} ({ConfigMetadataKey} metadata)" }
            : null;

    /// <summary>Fits the file's tensors to a model built differently: another grid, patch size or class count.</summary>
    private static (List<StoredTensor> Tensors, List<string> Adaptations, HashSet<string> AllowedMissing) Adapt(
        IReadOnlyList<StoredTensor> tensors, VitConfig file, VitConfig model, PosEmbedResampling loadResampling)
    {
        var adapted = new List<StoredTensor>(tensors.Count);
        var notes = new List<string>();
        var allowedMissing = new HashSet<string>(StringComparer.Ordinal);
        bool newHead = model.NumClasses != file.NumClasses;
        if (newHead)
        {
            notes.Add($"head not loaded: the model has {model.NumClasses} classes, the file {file.NumClasses}; the new head keeps its initial weights");
            allowedMissing.UnionWith(["head.weight", "head.bias"]);
        }

        foreach (StoredTensor t in tensors)
        {
            if (newHead && t.Name.StartsWith("head.", StringComparison.Ordinal)) continue;
            if (t.Name == "pos_embed" && model.PosEmbed == PosEmbedKind.Learned && (file.GridSize != model.GridSize))
            {
                int prefix = file.NoEmbedClass ? 0 : file.NumPrefixTokens;
                var target = model.GridSize;
                notes.Add($"pos_embed resampled from the {file.GridSize} grid to {target} ({loadResampling.Name} semantics)");
                adapted.Add(new StoredTensor(t.Name, [1, prefix + target.Count, t.Shape[2]], t.DType, () =>
                {
                    using var scope = NewDisposeScope();
                    return PosEmbedResampler.Resample(t.Read(), file.GridSize, target, prefix, loadResampling).MoveToOuterDisposeScope();
                }));
            }
            else if (t.Name == "patch_embed.proj.weight" && model.PatchSize != file.PatchSize)
            {
                var size = GridSize.Square(model.PatchSize);
                notes.Add($"patch_embed.proj.weight resampled from {file.PatchSize}x{file.PatchSize} to {size} (FlexiViT pseudo-inverse, bicubic)");
                adapted.Add(new StoredTensor(t.Name, [t.Shape[0], t.Shape[1], size.Height, size.Width], t.DType, () =>
                {
                    using var scope = NewDisposeScope();
                    return PatchEmbedResampler.Resample(t.Read(), size).MoveToOuterDisposeScope();
                }));
            }
            else
            {
                adapted.Add(t);
            }
        }
        return (adapted, notes, allowedMissing);
    }
}
