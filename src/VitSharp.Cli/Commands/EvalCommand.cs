using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using TorchSharp;
using VitSharp.Checkpoints;
using VitSharp.PosEmbed;
using VitSharp.Training;
using VitSharp.Training.Data;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp eval</c>: top-1 accuracy of a checkpoint on a dataset split, at its own size or any other (the model
/// resamples its position table at run time).
/// </summary>
internal static class EvalCommand
{
    public static Command Create(TextWriter output)
    {
        var weights = ShippedModel.WeightsOption("a checkpoint (e.g. OUT/model.safetensors of 'vitsharp train')");
        var dataset = new Option<string>("--dataset") { Description = TrainingData.SpecHelp, Required = true };
        var split = new Option<string>("--split") { Description = "train or test", DefaultValueFactory = _ => "test" };
        var size = new Option<string?>("--size") { Description = "evaluate at this image size HxW or N (default: the model's); any multiple of the patch" };
        var style = new Option<string?>("--posembed-style") { Description = "position-embedding resampling semantics at other sizes (default: the checkpoint's)" };
        var batch = new Option<int>("--batch") { Description = "images per forward pass", DefaultValueFactory = _ => 256 };
        var limit = new Option<int?>("--limit") { Description = "evaluate the first N images only" };
        var dtype = new Option<string>("--dtype") { Description = CliInputs.DTypeHelp, DefaultValueFactory = _ => "fp32" };
        var json = new Option<bool>("--json") { Description = "print one JSON object: accuracy, count, images_per_s, size, style" };

        var command = new Command("eval", "Top-1 accuracy of a ViT checkpoint on a dataset split, at any image size.");
        foreach (Option o in new Option[] { weights, dataset, split, size, style, batch, limit, dtype, json }) command.Options.Add(o);
        command.SetAction(r =>
        {
            int batchSize = r.GetValue(batch);
            if (batchSize < 1) throw new ArgumentException($"--batch must be at least 1, got {batchSize}");
            string splitName = r.GetValue(split)!;
            var computeDType = CliInputs.ParseDType(r.GetValue(dtype)!);
            CliApp.RequireTorch();
            CliInputs.WarnIfSlowBf16(r.InvocationConfiguration.Error, computeDType);
            string weightsPath = ShippedModel.WeightsOrShipped(r.GetValue(weights));
            using var loaded = CheckpointLoader.Load(weightsPath, new CheckpointLoadOptions
            {
                RuntimeResampling = r.GetValue(style) is { } s ? PosEmbedResampling.FromName(s) : null,
            });
            var model = loaded.Model;
            if (computeDType != model.PosEmbedParameter.dtype) model.to(computeDType);
            model.PackLinearWeights(); // the weights stay as loaded: pack them once for oneDNN (float32, or bf16 with its instructions, on x86-64; a no-op elsewhere)
            var imageSize = r.GetValue(size) is { } text ? GridSize.Parse(text) : model.Config.ImgSize;
            if (imageSize.Height % model.Config.PatchSize != 0 || imageSize.Width % model.Config.PatchSize != 0)
                throw new ArgumentException($"--size {imageSize} is not a multiple of the model's patch size {model.Config.PatchSize}");

            var (data, mean, std, note) = TrainingData.Open(r.GetValue(dataset)!, splitName, (imageSize.Height, imageSize.Width), r.GetValue(limit));
            if (note is not null) r.InvocationConfiguration.Error.WriteLine($"vitsharp: note: {note}");
            if (data.Channels != model.Config.InChans)
                throw new ArgumentException($"the model takes {model.Config.InChans}-channel images, the dataset has {data.Channels} channels");
            var loader = new DataLoader(data, batchSize, shuffle: false, seed: 0,
                new AugmentOptions { OutputSize = (imageSize.Height, imageSize.Width), Mean = mean, Std = std }, workers: 1);
            var result = Evaluator.Evaluate(model, loader);

            if (r.GetValue(json))
            {
                output.WriteLine(new JsonObject
                {
                    ["accuracy"] = result.Accuracy,
                    ["count"] = result.Count,
                    ["images_per_s"] = result.ImagesPerSecond,
                    ["seconds"] = result.Seconds,
                    ["size"] = imageSize.ToString(),
                    ["style"] = model.PosEmbedResampling.Name,
                    ["dtype"] = CliInputs.DTypeName(computeDType),
                    ["split"] = splitName,
                    ["weights"] = weightsPath,
                }.ToJsonString());
            }
            else
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"top-1 accuracy {result.Accuracy:P2} on {result.Count} {splitName} images at {imageSize} ({model.PosEmbedResampling.Name} position embeddings, {CliInputs.DTypeName(computeDType)}), {result.ImagesPerSecond:F0} images/s"));
            }
            return 0;
        });
        return command;
    }
}
