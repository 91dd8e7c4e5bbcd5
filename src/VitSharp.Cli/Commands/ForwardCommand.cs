using System.CommandLine;
using TorchSharp;
using VitSharp.Checkpoints;
using VitSharp.IO;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp forward</c>: run a ViT from any supported checkpoint on an input batch of any size and write its
/// logits, final class-token features and last-block attention, for comparison with PyTorch.
/// </summary>
internal static class ForwardCommand
{
    public static Command Create(TextWriter output)
    {
        var weights = new Option<string>("--weights") { Description = "a checkpoint: safetensors or PyTorch .pth/.pt/.bin of timm, DeiT, DINO, DINOv2, torchvision or Hugging Face, or a hub folder", Required = true };
        var input = new Option<string>("--input") { Description = "safetensors file with the input batch [B, C, H, W]", Required = true };
        var inputKey = new Option<string>("--input-key") { Description = "tensor key of the input batch", DefaultValueFactory = _ => "input" };
        var outPath = new Option<string>("--out") { Description = "output safetensors file: logits, cls_features, last_selfattention", Required = true };
        var device = new Option<string>("--device") { Description = "cpu or cuda (a CUDA build of libtorch must be referenced)", DefaultValueFactory = _ => "cpu" };
        var checkpoint = new CheckpointOptions();

        var command = new Command("forward", "Run a ViT checkpoint on an input batch of any height x width and write its outputs.") { weights, input, inputKey, outPath, device };
        checkpoint.AddTo(command);
        command.SetAction(r =>
        {
            CliApp.RequireTorch();
            string target = r.GetValue(outPath)!;
            CliInputs.RequireExtension(target, ".safetensors", "the outputs are written as safetensors");
            CliInputs.RequireOutputFolder(target);
            CliInputs.RequireNotAnInput(target, r.GetValue(input), r.GetValue(weights));
            var options = checkpoint.Read(r) with { Device = new Device(r.GetValue(device)!) };
            var batch = CliInputs.ReadTensor(r.GetValue(input)!, r.GetValue(inputKey)!);
            if (batch.ndim != 4) throw new ArgumentException($"input '{r.GetValue(inputKey)}' has shape {CliInputs.Shape(batch)}; expected [B, C, H, W]");

            using var scope = NewDisposeScope();
            using var loaded = CheckpointLoader.Load(r.GetValue(weights)!, options);
            if (!loaded.Report.IsClean) output.WriteLine($"warning: {loaded.Report.Describe()}");
            foreach (string change in loaded.Adaptations) output.WriteLine($"note: {change}");
            var model = loaded.Model;
            batch = batch.to(ScalarType.Float32, options.Device!);

            var outputs = new Dictionary<string, Tensor>();
            using (no_grad())
            {
                var (features, attention) = model.ForwardFeaturesWithAttention(batch);
                outputs["cls_features"] = model.ForwardHead(features, preLogits: true).cpu();
                if (model.Config.NumClasses > 0) outputs["logits"] = model.ForwardHead(features).cpu();
                outputs["last_selfattention"] = attention.cpu();
            }
            SafeTensors.Write(r.GetValue(outPath)!, outputs, new Dictionary<string, string>
            {
                ["vitsharp.posembed.semantics"] = model.PosEmbedResampling.ToString(),
                ["vitsharp.input_size"] = $"{batch.shape[2]}x{batch.shape[3]}",
                ["vitsharp.checkpoint.family"] = loaded.Summary.Family.Name(),
            });
            output.WriteLine($"input {CliInputs.Shape(batch)} -> " + string.Join(", ", outputs.Select(o => $"{o.Key} {CliInputs.Shape(o.Value)}")));
            return 0;
        });
        return command;
    }
}
