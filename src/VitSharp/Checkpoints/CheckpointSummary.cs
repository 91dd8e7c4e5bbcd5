using VitSharp.Models;
using static TorchSharp.torch;

namespace VitSharp.Checkpoints;

/// <summary>What <c>vitsharp inspect</c> shows about a checkpoint; built from headers only, no tensor is read.</summary>
/// <param name="Path">The file read.</param>
/// <param name="Format">safetensors, pytorch-zip or pytorch-legacy.</param>
/// <param name="Family">The detected (or forced) naming family.</param>
/// <param name="Wrapper">The wrapper the weights came from, or null.</param>
/// <param name="StrippedPrefixes">Prefixes removed from every key.</param>
/// <param name="Architecture">The architecture the file was trained with.</param>
/// <param name="Guesses">Architecture fields set by convention, not read.</param>
/// <param name="HintsSource">The config file used for hints, if any.</param>
/// <param name="Labels">Class names, when a config gives them.</param>
/// <param name="ParameterCount">Elements in the weights the model uses.</param>
/// <param name="DTypes">Stored dtypes of those weights, with counts.</param>
/// <param name="Ignored">Tensors left out on purpose, with reasons.</param>
/// <param name="Unknown">Keys of the chosen state_dict the family does not explain.</param>
/// <param name="NonTensorEntries">Non-tensor entries of the file (epoch, args, ...).</param>
/// <param name="Metadata">safetensors metadata.</param>
public sealed record CheckpointSummary(
    string Path,
    string Format,
    CheckpointFamily Family,
    string? Wrapper,
    IReadOnlyList<string> StrippedPrefixes,
    VitConfig Architecture,
    IReadOnlyList<string> Guesses,
    string? HintsSource,
    IReadOnlyList<string>? Labels,
    long ParameterCount,
    IReadOnlyDictionary<ScalarType, int> DTypes,
    IReadOnlyList<string> Ignored,
    IReadOnlyList<string> Unknown,
    IReadOnlyList<string> NonTensorEntries,
    IReadOnlyDictionary<string, string> Metadata);
