using System.CommandLine;
using VitSharp.Checkpoints;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp convert IN OUT</c>: any supported checkpoint to timm-named safetensors plus its JSON config,
/// loadable by VitSharp and by PyTorch (timm's <c>VisionTransformer.load_state_dict</c>). The weights go through
/// a strict load into a real model first, so a converted file is known to be complete.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create(TextWriter output)
    {
        var input = new Argument<string>("IN") { Description = "a checkpoint file or hub folder" };
        var outPath = new Argument<string>("OUT") { Description = "the .safetensors file to write (its config goes to the same name with .json)" };
        var to = new Option<string>("--to") { Description = "target naming; timm is VitSharp's own", DefaultValueFactory = _ => "timm" };
        to.AcceptOnlyFromAmong("timm");
        var dtype = new Option<string>("--dtype") { Description = "stored dtype: f32, f16, bf16 (default: keep the file's)" };
        var force = new Option<bool>("--force") { Description = "allow OUT to be IN: convert in place (the checkpoint is read whole first, and the new file replaces it only when complete)" };
        dtype.AcceptOnlyFromAmong("f32", "f16", "bf16");
        var checkpoint = new CheckpointOptions();
        var command = new Command("convert", "Convert a checkpoint of any family and format to timm-named safetensors and a JSON config.") { input, outPath, to, dtype, force };
        checkpoint.AddTo(command);
        command.SetAction(r =>
        {
            CliApp.RequireTorch();
            string target = r.GetValue(outPath)!;
            if (!target.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"OUT must be a .safetensors file, not '{target}'");
            CliInputs.RequireOutputFolder(target);
            if (!r.GetValue(force)) CliInputs.RequireNotAnInput(target, r.GetValue(input), Path.ChangeExtension(r.GetValue(input)!, ".json"));
            using var loaded = CheckpointLoader.Load(r.GetValue(input)!, checkpoint.Read(r));
            if (!loaded.Report.IsClean) output.WriteLine($"warning: {loaded.Report.Describe()}");
            foreach (string change in loaded.Adaptations) output.WriteLine($"note: {change}");

            ScalarType? stored = r.GetValue(dtype) switch
            {
                "f32" => ScalarType.Float32,
                "f16" => ScalarType.Float16,
                "bf16" => ScalarType.BFloat16,
                _ => HalfPrecisionOf(loaded.Summary.DTypes),
            };
            // A safetensors source keeps its metadata block (a license, a description); VitSharp's own keys win.
            var metadata = loaded.Summary.Metadata.Where(m => !m.Key.StartsWith("vitsharp.", StringComparison.Ordinal))
                .ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal);
            metadata["vitsharp.source.file"] = Path.GetFileName(loaded.Summary.Path);
            metadata["vitsharp.source.family"] = loaded.Summary.Family.Name();
            metadata["vitsharp.source.format"] = loaded.Summary.Format;
            string config = CheckpointExporter.Save(loaded.Model, target, stored, metadata, loaded.Summary.Labels);
            output.WriteLine($"{loaded.Summary.Family.Name()} {loaded.Summary.Format} -> {target} (timm naming, {loaded.Summary.ParameterCount:N0} parameters) + {config}");
            return 0;
        });
        return command;
    }

    /// <summary>A file stored wholly in float16 or bfloat16 stays so; anything else is written as the model holds it (float32).</summary>
    private static ScalarType? HalfPrecisionOf(IReadOnlyDictionary<ScalarType, int> stored) =>
        stored.Count == 1 && stored.Keys.Single() is ScalarType.Float16 or ScalarType.BFloat16 ? stored.Keys.Single() : null;
}
