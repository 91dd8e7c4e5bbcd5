using System.CommandLine;
using System.Globalization;
using VitSharp.Checkpoints;
using VitSharp.Imaging;
using VitSharp.IO;
using VitSharp.Models;
using VitSharp.PosEmbed;
using VitSharp.Registry;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp preprocess</c>: turn an image file into the model input a PyTorch eval pipeline would make
/// (see docs/imaging.md), written as <c>input</c> [1, C, H, W] for <c>vitsharp forward</c> or for comparison.
/// </summary>
internal static class PreprocessCommand
{
    public static Command Create(TextWriter output)
    {
        var image = new Argument<string>("IMAGE") { Description = $"image file ({string.Join(' ', ImageFile.Extensions)})" };
        var preset = new Option<string>("--preset") { Description = string.Join(" | ", ImagePreprocessing.PresetNames), Required = true };
        var arch = new Option<string?>("--arch") { Description = "take img_size, patch_size and in_chans from a registered architecture (see 'vitsharp list')" };
        var config = new Option<string?>("--config") { Description = "take img_size, patch_size and in_chans from a VitSharp or timm JSON config" };
        var size = new Option<string?>("--size") { Description = "model image size N or HxW (default: the config's, else 224)" };
        var patch = new Option<int?>("--patch") { Description = "patch size (default: the config's, else 16)" };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "patch budget of the native preset (default: the model's own token count)" };
        var channels = new Option<int?>("--channels") { Description = "1 (grayscale, PIL 'L') or 3 (default: the config's in_chans, else 3)" };
        var outPath = new Option<string>("--out") { Description = "output safetensors file with key 'input' [1, C, H, W] (written atomically)", Required = true };

        var command = new Command("preprocess", "Decode an image and make a model input exactly as a timm / torchvision / DINO eval pipeline does.")
        {
            image, preset, arch, config, size, patch, maxTokens, channels, outPath,
        };
        command.SetAction(r =>
        {
            CliApp.RequireTorch();
            string path = r.GetValue(image)!, target = r.GetValue(outPath)!;
            CliInputs.RequireExtension(target, ".safetensors", "the input tensor is written as safetensors");
            CliInputs.RequireOutputFolder(target);
            CliInputs.RequireNotAnInput(target, path, r.GetValue(config));
            var model = ModelConfig(r.GetValue(arch), r.GetValue(config));
            model = model with
            {
                ImgSize = r.GetValue(size) is { } s ? GridSize.Parse(s) : model.ImgSize,
                PatchSize = r.GetValue(patch) ?? model.PatchSize,
                InChans = r.GetValue(channels) ?? model.InChans,
            };
            var prep = ImagePreprocessing.ForModel(r.GetValue(preset)!, model, r.GetValue(maxTokens));

            using var scope = NewDisposeScope();
            using var bitmap = ImageFile.Load(path);
            var input = prep.Prepare(bitmap).unsqueeze(0);
            SafeTensors.Write(target, new Dictionary<string, Tensor> { ["input"] = input }, new Dictionary<string, string>
            {
                ["vitsharp.preprocess.preset"] = prep.Name,
                ["vitsharp.preprocess.pipeline"] = prep.Pipeline,
                ["vitsharp.preprocess.image_size"] = $"{bitmap.Width}x{bitmap.Height}",
            });
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"input: {CliInputs.Shape(input)} from {path} ({bitmap.Width}x{bitmap.Height}) with {prep.Name}: {prep.Pipeline}"));
            return 0;
        });
        return command;
    }

    /// <summary>The model whose sizes the preset uses: a registered architecture, a config file, or VitConfig's defaults (224, patch 16, 3 channels).</summary>
    private static VitConfig ModelConfig(string? arch, string? configPath)
    {
        if (arch is not null && configPath is not null) throw new ArgumentException("give at most one of --arch NAME or --config FILE.json");
        if (arch is not null) return VitRegistry.Get(arch);
        if (configPath is null) return new VitConfig();
        CliInputs.RequireFile(configPath, "config file");
        var hints = ArchitectureHints.FromFile(configPath);
        var config = hints.Config
            ?? throw new ArgumentException($"config '{configPath}' names no architecture VitSharp knows; give --size and --patch instead");
        return hints.ImgSize is { } imgSize ? config with { ImgSize = imgSize } : config;
    }
}
