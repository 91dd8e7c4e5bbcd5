using System.CommandLine;
using VitSharp.Checkpoints;
using VitSharp.Models;
using VitSharp.PosEmbed;
using VitSharp.Registry;

namespace VitSharp.Cli.Commands;

/// <summary>
/// The options every command that reads a checkpoint shares: what to take from the file (wrapper, family), what
/// the file cannot say (a config or architecture name, heads), how to change the model (image size, patch size,
/// classes) and whether unknown keys are errors.
/// </summary>
internal sealed class CheckpointOptions
{
    private readonly Option<string?> arch = new("--arch") { Description = "a registered architecture whose config fills in what the file cannot say (see 'vitsharp list')" };
    private readonly Option<string?> config = new("--config") { Description = "a JSON config (VitSharp, timm or Hugging Face config.json); default: NAME.json or config.json beside the file" };
    private readonly Option<string?> key = new("--key") { Description = "the wrapper holding the weights: teacher, student, model, state_dict, state_dict_ema, ... (default: chosen automatically)" };
    private readonly Option<string?> family = new("--family") { Description = "force the naming family: timm, deit, dino, dinov2, torchvision, hf" };
    private readonly Option<int?> numHeads = new("--num-heads") { Description = "attention heads (not stored in checkpoints; default: the convention for the width)" };
    private readonly Option<string?> imgSize = new("--img-size") { Description = "build the model for this image size (HxW or N); the position table is resampled on load" };
    private readonly Option<int?> patchSize = new("--patch-size") { Description = "build the model with this patch size; the patch kernel is resampled on load (FlexiViT)" };
    private readonly Option<int?> numClasses = new("--num-classes") { Description = "build the model with this many classes (a new head when it differs; 0 = features only)" };
    private readonly Option<string?> loadStyle = new("--load-resampling") { Description = "semantics used to resample pos_embed when --img-size changes the grid (default: timm, as timm's checkpoint filter)" };
    private readonly Option<string?> style = new("--posembed-style") { Description = "position-embedding semantics at other input sizes (default: the checkpoint family's)" };
    private readonly Option<bool> nonStrict = new("--non-strict") { Description = "skip keys the model does not have and leave missing ones at their initial values" };

    /// <summary>Adds every checkpoint option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { arch, config, key, family, numHeads, imgSize, patchSize, numClasses, loadStyle, style, nonStrict })
            command.Options.Add(option);
    }

    /// <summary>The registered architecture named by <c>--arch</c>, if any.</summary>
    public string? ArchName(ParseResult r) => r.GetValue(arch);

    /// <summary>The options for the loader from a parsed command line.</summary>
    public CheckpointLoadOptions Read(ParseResult r)
    {
        if (r.GetValue(arch) is not null && r.GetValue(config) is not null)
            throw new ArgumentException("give at most one of --arch NAME or --config FILE.json");

        ArchitectureHints? hints = null;
        if (r.GetValue(arch) is { } name) hints = ArchitectureHints.FromConfig(VitRegistry.Get(name), $"--arch {name}");
        if (r.GetValue(config) is { } path)
        {
            CliInputs.RequireFile(path, "config file");
            hints = ArchitectureHints.FromFile(path);
        }

        GridSize? size = r.GetValue(imgSize) is { } text ? GridSize.Parse(text) : null;
        int? patch = r.GetValue(patchSize);
        int? classes = r.GetValue(numClasses);
        bool changes = size is not null || patch is not null || classes is not null;
        return new CheckpointLoadOptions
        {
            Hints = hints,
            NumHeads = r.GetValue(numHeads),
            Wrapper = r.GetValue(key),
            Family = r.GetValue(family) is { } f ? CheckpointFamilies.Parse(f) : null,
            Strict = !r.GetValue(nonStrict),
            RuntimeResampling = r.GetValue(style) is { } s ? PosEmbedResampling.FromName(s) : null,
            LoadResampling = r.GetValue(loadStyle) is { } l ? PosEmbedResampling.FromName(l) : PosEmbedResampling.Timm,
            Configure = changes ? c => Reconfigure(c, size, patch, classes) : null,
        };
    }

    private static VitConfig Reconfigure(VitConfig c, GridSize? size, int? patch, int? classes) => c with
    {
        ImgSize = size ?? c.ImgSize,
        PatchSize = patch ?? c.PatchSize,
        NumClasses = classes ?? c.NumClasses,
    };
}
