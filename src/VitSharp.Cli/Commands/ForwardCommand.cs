using System.CommandLine;
using VitSharp.IO;
using VitSharp.Models;
using VitSharp.PosEmbed;
using VitSharp.Registry;
using VitSharp.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp forward</c>: run a ViT from safetensors weights on an input batch of any size and write its logits,
/// final class-token features and last-block attention, for comparison with PyTorch.
/// </summary>
internal static class ForwardCommand
{
    public static Command Create(TextWriter output)
    {
        var weights = new Option<string>("--weights") { Description = "safetensors weights in timm naming", Required = true };
        var arch = new Option<string?>("--arch") { Description = "a registered architecture (see 'vitsharp list')" };
        var config = new Option<string?>("--config") { Description = "a JSON config with timm's keyword names" };
        var style = new Option<string?>("--posembed-style") { Description = "position-embedding resampling semantics (default: the config's)" };
        var input = new Option<string>("--input") { Description = "safetensors file with the input batch [B, C, H, W]", Required = true };
        var inputKey = new Option<string>("--input-key") { Description = "tensor key of the input batch", DefaultValueFactory = _ => "input" };
        var outPath = new Option<string>("--out") { Description = "output safetensors file: logits, cls_features, last_selfattention", Required = true };
        var nonStrict = new Option<bool>("--non-strict") { Description = "ignore keys that are not parameters and leave missing ones at their initial values" };
        var device = new Option<string>("--device") { Description = "cpu or cuda (a CUDA build of libtorch must be referenced)", DefaultValueFactory = _ => "cpu" };

        var command = new Command("forward", "Run a ViT on an input batch of any height x width and write its outputs.")
        {
            weights, arch, config, style, input, inputKey, outPath, nonStrict, device,
        };
        command.SetAction(r =>
        {
            CliApp.RequireTorch();
            var vitConfig = ResolveConfig(r.GetValue(arch), r.GetValue(config));
            if (r.GetValue(style) is { } s) vitConfig = vitConfig with { PosEmbedResampling = PosEmbedResampling.FromName(s) };
            var target = new Device(r.GetValue(device)!);

            using var scope = NewDisposeScope();
            using var model = new VisionTransformer(vitConfig);
            CliInputs.RequireFile(r.GetValue(weights)!, "weights file");
            using (var file = SafeTensors.Read(r.GetValue(weights)!))
            {
                var report = StateDictLoader.Load(model, file.ToDictionary(), strict: !r.GetValue(nonStrict));
                if (!report.IsClean) output.WriteLine($"warning: {report.Describe()}");
            }
            model.to(target).eval();

            var batch = CliInputs.ReadTensor(r.GetValue(input)!, r.GetValue(inputKey)!);
            if (batch.ndim != 4) throw new ArgumentException($"input '{r.GetValue(inputKey)}' has shape {CliInputs.Shape(batch)}; expected [B, C, H, W]");
            batch = batch.to(ScalarType.Float32, target);

            var outputs = new Dictionary<string, Tensor>();
            using (no_grad())
            {
                var (features, attention) = model.ForwardFeaturesWithAttention(batch);
                outputs["cls_features"] = model.ForwardHead(features, preLogits: true).cpu();
                if (vitConfig.NumClasses > 0) outputs["logits"] = model.ForwardHead(features).cpu();
                outputs["last_selfattention"] = attention.cpu();
            }
            SafeTensors.Write(r.GetValue(outPath)!, outputs, new Dictionary<string, string>
            {
                ["vitsharp.posembed.semantics"] = model.PosEmbedResampling.ToString(),
                ["vitsharp.input_size"] = $"{batch.shape[2]}x{batch.shape[3]}",
            });
            output.WriteLine($"input {CliInputs.Shape(batch)} -> " + string.Join(", ", outputs.Select(o => $"{o.Key} {CliInputs.Shape(o.Value)}")));
            return 0;
        });
        return command;
    }

    private static VitConfig ResolveConfig(string? arch, string? configPath)
    {
        if ((arch is null) == (configPath is null)) throw new ArgumentException("give exactly one of --arch NAME or --config FILE.json");
        if (arch is not null) return VitRegistry.Get(arch);
        CliInputs.RequireFile(configPath!, "config file");
        return VitConfigJson.Read(configPath!);
    }
}
