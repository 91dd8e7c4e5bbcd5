using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using VitSharp.Checkpoints;
using VitSharp.Models;
using VitSharp.PosEmbed;
using VitSharp.Registry;
using VitSharp.Training;
using VitSharp.Training.Data;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp train</c>: trains a ViT from scratch (<c>--arch</c>, <c>--config</c>) or fine-tunes one (<c>--init</c>)
/// with the <see cref="Trainer"/>, writing checkpoints, metrics.csv, curves.png and the final model into <c>--out</c>.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter output)
    {
        var dataset = new Option<string>("--dataset") { Description = TrainingData.SpecHelp, Required = true };
        var arch = new Option<string?>("--arch") { Description = "train a registered architecture from scratch (see 'vitsharp list')" };
        var config = new Option<string?>("--config") { Description = "train the architecture of a JSON config (timm keyword names) from scratch" };
        var init = new Option<string?>("--init") { Description = "fine-tune from a checkpoint (any format 'vitsharp inspect' reads); pos_embed is resampled to --img-size, the head replaced when the class count differs" };
        var outDir = new Option<string>("--out") { Description = "folder for checkpoint.safetensors, metrics.csv, curves.png and model.safetensors", Required = true };
        var epochs = Opt("--epochs", "epochs to train", 10);
        var batch = Opt("--batch", "images per optimizer step", 256);
        var lr = Opt("--lr", "peak learning rate (after warmup)", 1e-3);
        var minLr = Opt("--min-lr", "learning rate at the end of the cosine", 1e-5);
        var warmup = Opt("--warmup-epochs", "linear warmup, in epochs (fractions allowed)", 1.0);
        var weightDecay = Opt("--weight-decay", "AdamW decoupled weight decay (not applied to norms, biases, pos_embed, cls/reg tokens)", 0.05);
        var smoothing = Opt("--label-smoothing", "label smoothing of the targets", 0.1);
        var dropPath = Opt("--drop-path", "stochastic depth rate of the last block", 0.1);
        var mixup = Opt("--mixup", "Mixup alpha (0 = off)", 0.8);
        var cutmix = Opt("--cutmix", "CutMix alpha (0 = off)", 1.0);
        var rrcScaleMin = new Option<double?>("--rrc-scale-min") { Description = "RandomResizedCrop with scale (MIN, 1); default: no crop, a plain resize" };
        var cropPadding = Opt("--crop-padding", "random shift: pad each side with N zero pixels and crop back at a random offset (torchvision RandomCrop padding=N; 0 = off)", 0);
        var flip = new Option<bool>("--flip") { Description = "random horizontal flips" };
        var erasing = Opt("--random-erasing", "probability of random erasing (0 = off)", 0.0);
        var clipGrad = Opt("--clip-grad", "clip the global gradient norm to this (0 = off)", 1.0);
        var ema = Opt("--ema", "EMA decay of the weights (0 = no EMA)", 0.0);
        var emaWarmup = new Option<bool>("--ema-warmup") { Description = "EMA decay min(decay, (1+t)/(10+t)) for early updates" };
        var layerDecay = new Option<double?>("--layer-decay") { Description = "layer-wise learning-rate decay for fine-tuning (e.g. 0.75)" };
        var zoom = new Option<double[]>("--zoom") { Description = "zoom-in crops: factors (e.g. 2) an image may be enlarged by before a window of the training size is cut from it; teaches a convolutional stem what the model meets at that multiple of its size, at no extra cost", AllowMultipleArgumentsPerToken = true };
        var zoomProb = Opt("--zoom-prob", "probability that an image is zoomed by one of --zoom", 0.0);
        var multiRes = new Option<string[]>("--multi-res") { Description = "multi-resolution training: sizes (HxW or N, e.g. 40 56) a batch may be resized to; the model learns those grids through its resampled position table", AllowMultipleArgumentsPerToken = true };
        var multiResProb = Opt("--multi-res-prob", "probability that a batch is resized to one of --multi-res", 0.0);
        var multiResSamePixels = new Option<bool>("--multi-res-same-pixels") { Description = "a resized batch keeps only as many images as hold the pixels of a base batch (NaViT's fixed token budget): a 2x step then costs little more than a base step" };
        var multiResFrom = Opt("--multi-res-from-epoch", "first epoch (1-based) whose batches may be resized to --multi-res; earlier ones train at the base size", 1);
        var imgSize = new Option<string?>("--img-size") { Description = "training image size HxW or N (default: the architecture's)" };
        var seed = Opt("--seed", "seed of the initial weights, data order, augmentation and dropout", 0);
        var checkpointMinutes = Opt("--checkpoint-minutes", "also checkpoint mid-epoch this often (0 = after every step)", 10.0);
        var resume = new Option<bool>("--resume") { Description = "continue the run in --out from its checkpoint (give the same settings)" };
        var limitTrain = new Option<int?>("--limit-train") { Description = "train on the first N images only" };
        var limitTest = new Option<int?>("--limit-test") { Description = "evaluate on the first N test images only" };
        var threads = new Option<int?>("--threads") { Description = "TorchSharp intra-op threads (default: TorchSharp's; resume bit-exactly with the same count)" };
        var workers = Opt("--workers", "data-loading threads", 1);
        var attention = Opt("--attention", CliInputs.AttentionKernelHelp, "auto");
        var linear = Opt("--linear", CliInputs.LinearKernelHelp, "auto");
        var precision = Opt("--precision", "fp32, or bf16: forward and backward on a bfloat16 copy of the model, master weights, loss, AdamW, EMA and evaluation in float32; pays only on CPUs with AVX-512-BF16 or AMX", "fp32");

        var command = new Command("train", "Train or fine-tune a ViT: AdamW, warmup + cosine, mixup/cutmix, EMA, crash-safe checkpoints and --resume.");
        foreach (Option o in new Option[] { dataset, arch, config, init, outDir, epochs, batch, lr, minLr, warmup, weightDecay, smoothing, dropPath, mixup, cutmix,
            rrcScaleMin, cropPadding, flip, erasing, zoom, zoomProb, multiRes, multiResProb, multiResSamePixels, multiResFrom, clipGrad, ema, emaWarmup, layerDecay, imgSize, seed, checkpointMinutes, resume, limitTrain, limitTest, threads, workers, attention, linear, precision })
            command.Options.Add(o);

        command.SetAction(r =>
        {
            var error = r.InvocationConfiguration.Error;
            int sources = new[] { r.GetValue(arch), r.GetValue(config), r.GetValue(init) }.Count(v => v is not null);
            if (sources != 1) throw new ArgumentException("give exactly one of --arch NAME, --config FILE.json or --init CHECKPOINT");
            var options = new TrainerOptions
            {
                Epochs = r.GetValue(epochs),
                Lr = r.GetValue(lr),
                MinLr = r.GetValue(minLr),
                WarmupEpochs = r.GetValue(warmup),
                WeightDecay = r.GetValue(weightDecay),
                LayerDecay = r.GetValue(layerDecay),
                ClipGrad = r.GetValue(clipGrad) is > 0 and var c ? c : null,
                EmaDecay = r.GetValue(ema) is > 0 and var e ? e : null,
                EmaWarmup = r.GetValue(emaWarmup),
                Precision = r.GetValue(precision)!.ToLowerInvariant() switch
                {
                    "fp32" => Precision.Fp32,
                    "bf16" => Precision.Bf16,
                    var p => throw new ArgumentException($"--precision must be fp32 or bf16, got '{p}'"),
                },
                Seed = r.GetValue(seed),
                CheckpointInterval = TimeSpan.FromMinutes(r.GetValue(checkpointMinutes)),
            };
            options.Validate();
            int batchSize = r.GetValue(batch);
            if (batchSize < 1) throw new ArgumentException($"--batch must be at least 1, got {batchSize}");
            GridSize? size = r.GetValue(imgSize) is { } s ? GridSize.Parse(s) : null;
            string spec = r.GetValue(dataset)!;
            string outPath = r.GetValue(outDir)!;

            CliApp.RequireTorch();
            if (options.Precision == Precision.Bf16) CliInputs.WarnIfSlowBf16(error, TorchSharp.torch.ScalarType.BFloat16);
            if (r.GetValue(threads) is { } n)
            {
                SizeLimits.CheckThreads(n, "--threads");
                TorchSharp.torch.set_num_threads(n);
            }

            if (r.GetValue(smoothing) is not (>= 0 and < 1)) throw new ArgumentException($"--label-smoothing must be in [0, 1), got {r.GetValue(smoothing)}");
            if (r.GetValue(mixup) < 0) throw new ArgumentException($"--mixup must be at least 0, got {r.GetValue(mixup)}");
            if (r.GetValue(cutmix) < 0) throw new ArgumentException($"--cutmix must be at least 0, got {r.GetValue(cutmix)}");
            // The architecture first: its image size decides how big the folder images are loaded.
            VitConfig? configFromFile = r.GetValue(config) is { } configPath ? ReadConfig(configPath) : null;
            VitConfig? registered = r.GetValue(arch) is { } name ? VitRegistry.Get(name) : null;
            var plannedSize = size ?? (configFromFile ?? registered)?.ImgSize ?? GridSize.Square(224);
            var (trainSet, mean, std, note) = TrainingData.Open(spec, "train", (plannedSize.Height, plannedSize.Width), r.GetValue(limitTrain));
            var (testSet, _, _, _) = TrainingData.Open(spec, "test", (plannedSize.Height, plannedSize.Width), r.GetValue(limitTest));
            if (note is not null) error.WriteLine($"vitsharp: note: {note}");

            VitConfig Fit(VitConfig c) => c with
            {
                ImgSize = size ?? c.ImgSize,
                InChans = trainSet.Channels,
                NumClasses = trainSet.Labels.Count,
                DropPathRate = r.GetValue(dropPath),
            };
            // The seed also fixes the initial weights (timm seeds before create_model), so that two runs with the same
            // settings and thread count are the same run; --resume then replaces them with the checkpoint's.
            TorchSharp.torch.manual_seed(r.GetValue(seed));
            using var model = r.GetValue(init) is { } initPath
                ? LoadInit(initPath, Fit)
                : new VisionTransformer(Fit(configFromFile ?? registered!));
            model.AttentionKernel = CliInputs.ParseAttentionKernel(r.GetValue(attention)!);
            model.LinearKernel = CliInputs.ParseLinearKernel(r.GetValue(linear)!);
            if (model.Config.InChans != trainSet.Channels)
                throw new ArgumentException($"the model takes {model.Config.InChans}-channel images, the dataset has {trainSet.Channels} channels");

            var outputSize = (model.Config.ImgSize.Height, model.Config.ImgSize.Width);
            var multiResolutions = (r.GetValue(multiRes) ?? []).Select(GridSize.Parse).ToList();
            double multiResolutionProb = r.GetValue(multiResProb);
            if (multiResolutionProb > 0 && multiResolutions.Count == 0) throw new ArgumentException("--multi-res-prob needs the sizes of --multi-res");
            if (multiResolutions.Count > 0 && multiResolutionProb <= 0) throw new ArgumentException("--multi-res needs --multi-res-prob above 0");
            if (r.GetValue(multiResSamePixels) && multiResolutions.Count == 0) throw new ArgumentException("--multi-res-same-pixels needs the sizes of --multi-res");
            int multiResolutionFrom = r.GetValue(multiResFrom);
            if (multiResolutionFrom < 1) throw new ArgumentException($"--multi-res-from-epoch counts from 1, got {multiResolutionFrom}");
            var zoomFactors = r.GetValue(zoom) ?? [];
            double zoomProbability = r.GetValue(zoomProb);
            if (zoomProbability > 0 && zoomFactors.Length == 0) throw new ArgumentException("--zoom-prob needs the factors of --zoom");
            if (zoomFactors.Length > 0 && zoomProbability <= 0) throw new ArgumentException("--zoom needs --zoom-prob above 0");
            // A size the model cannot take fails now with its reason, not at the first batch that draws it.
            foreach (var extra in multiResolutions) model.PatchEmbed.GridFor(extra);
            var augment = new AugmentOptions
            {
                RandomResizedCrop = r.GetValue(rrcScaleMin) is not null,
                ScaleMin = r.GetValue(rrcScaleMin) ?? 0.08,
                CropPadding = r.GetValue(cropPadding),
                ZoomFactors = zoomFactors,
                ZoomProb = zoomProbability,
                HorizontalFlip = r.GetValue(flip),
                RandomErasing = r.GetValue(erasing),
                Mixup = r.GetValue(mixup),
                Cutmix = r.GetValue(cutmix),
                LabelSmoothing = r.GetValue(smoothing),
                OutputSize = outputSize,
                MultiResolutions = [.. multiResolutions.Select(g => (g.Height, g.Width))],
                MultiResolutionProb = multiResolutionProb,
                MultiResolutionSamePixels = r.GetValue(multiResSamePixels),
                MultiResolutionFromEpoch = multiResolutionFrom - 1,
                Mean = mean,
                Std = std,
            };
            int workerCount = r.GetValue(workers);
            SizeLimits.CheckThreads(workerCount, "--workers", min: 0);
            var trainLoader = new DataLoader(trainSet, batchSize, shuffle: true, options.Seed, augment, dropLast: true, workers: workerCount);
            var testLoader = new DataLoader(testSet, batchSize, shuffle: false, options.Seed, new AugmentOptions { OutputSize = outputSize, Mean = mean, Std = std }, workers: workerCount);
            if (trainLoader.BatchesPerEpoch == 0)
                throw new ArgumentException($"the training set has {trainSet.Count} images, fewer than one batch of {batchSize}; lower --batch");

            var args = new JsonObject();
            foreach (var option in command.Options)
            {
                var result = r.GetResult(option);
                if (result is null || result.Implicit) continue;
                args[option.Name] = string.Join(' ', result.Tokens.Select(t => t.Value));
            }

            using var trainer = new Trainer(model, trainLoader, testLoader, options, outPath, trainSet.Labels, args.ToJsonString());
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"vitsharp: training {model.Config.EmbedDim}d x {model.Config.Depth} on {trainSet.Count} images ({trainLoader.BatchesPerEpoch} steps/epoch, {model.Config.ImgSize}), testing on {testSet.Count}, {options.Precision.ToString().ToLowerInvariant()}"));
            TrainProgressView.Run(error, trainer, output, () => trainer.Run(r.GetValue(resume)));
            return 0;
        });
        return command;
    }

    private static Option<T> Opt<T>(string name, string description, T defaultValue) =>
        new(name) { Description = $"{description} (default {Convert.ToString(defaultValue, CultureInfo.InvariantCulture)})", DefaultValueFactory = _ => defaultValue };

    private static VitConfig ReadConfig(string path)
    {
        CliInputs.RequireFile(path, "config file");
        return VitConfigJson.Read(path);
    }

    private static VisionTransformer LoadInit(string path, Func<VitConfig, VitConfig> fit)
    {
        var loaded = CheckpointLoader.Load(path, new CheckpointLoadOptions { Configure = fit });
        return loaded.Model;
    }
}
