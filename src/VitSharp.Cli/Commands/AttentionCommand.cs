using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using SkiaSharp;
using VitSharp.Checkpoints;
using VitSharp.Imaging;
using VitSharp.IO;
using VitSharp.PosEmbed;
using VitSharp.Visualization;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp attention</c>: DINO's visualize_attention.py. The class token's last-block attention to the patches,
/// per head and averaged, drawn over the preprocessed image; with <c>--threshold</c>, DINO's top-mass masks.
/// </summary>
internal static class AttentionCommand
{
    public static Command Create(TextWriter output)
    {
        var weights = ShippedModel.WeightsOption("a checkpoint (any format 'vitsharp forward' reads)");
        var image = new Argument<string>("IMAGE") { Description = "the image file (JPEG, PNG, WebP, BMP, GIF)" };
        var outDir = new Option<string>("--out") { Description = "output folder (created if missing): head-N.png, mean.png, image.png, attention.json", Required = true };
        var preset = new Option<string>("--preset") { Description = "preprocessing: native (aspect kept, the model's token budget), resize, dino, timm, torchvision", DefaultValueFactory = _ => "native" };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "patch budget of the native preset (default: the model's grid)" };
        var threshold = new Option<double?>("--threshold") { Description = "also write head-N-mask.png: the patches holding this share of the attention mass (DINO uses 0.6)" };
        var alpha = new Option<float>("--alpha") { Description = "opacity of the heat map over the image, 0 to 1", DefaultValueFactory = _ => 0.6f };
        var colormap = new Option<string>("--colormap") { Description = "viridis | inferno | gray", DefaultValueFactory = _ => "inferno" };
        var smooth = new Option<bool>("--smooth") { Description = "bilinear upscaling of the patch maps instead of DINO's nearest" };
        var saveTensors = new Option<bool>("--save-tensors") { Description = "also write attention.safetensors: input [1,C,H,W], maps [heads,h,w], mean [h,w]" };
        var checkpoint = new CheckpointOptions();

        var command = new Command("attention", "Draw the class token's last-block attention over an image, per head (DINO's visualize_attention).")
        {
            weights, image, outDir, preset, maxTokens, threshold, alpha, colormap, smooth, saveTensors,
        };
        checkpoint.AddTo(command);
        command.SetAction(r =>
        {
            CliApp.RequireTorch();
            if (r.GetValue(threshold) is { } t && t is not (> 0 and <= 1)) throw new ArgumentException($"--threshold must be in (0, 1], got {t}");
            if (r.GetValue(alpha) is not (>= 0 and <= 1)) throw new ArgumentException($"--alpha must be in [0, 1], got {r.GetValue(alpha)}");
            var map = Colormap.FromName(r.GetValue(colormap)!);
            string imagePath = r.GetValue(image)!;
            CliInputs.RequireFile(imagePath, "image");
            var options = checkpoint.Read(r);

            using var scope = NewDisposeScope();
            using var loaded = CheckpointLoader.Load(ShippedModel.WeightsOrShipped(r.GetValue(weights)), options);
            foreach (string change in loaded.Adaptations) output.WriteLine($"note: {change}");
            var model = loaded.Model;
            var config = model.Config;
            var preprocessing = ImagePreprocessing.ForModel(r.GetValue(preset)!, config, r.GetValue(maxTokens));
            using var bitmap = ImageFile.Load(imagePath);
            var input = preprocessing.Prepare(bitmap);
            var size = new GridSize((int)input.shape[1], (int)input.shape[2]);
            var grid = model.PatchEmbed.GridFor(size);

            Tensor attention;
            using (no_grad()) attention = model.GetLastSelfAttention(input.unsqueeze(0));
            var maps = AttentionMaps.FromLastSelfAttention(attention, grid, config.NumPrefixTokens, config.ClassToken);
            if (!maps.FromClassToken) output.WriteLine("note: the model has no class token: the maps are the mean attention of all patch queries to each patch");

            using var seen = InputPicture.FromNormalized(input, preprocessing.Mean, preprocessing.Std);
            var pictures = new AttentionPictures(seen, map,
                r.GetValue(smooth) ? HeatMapUpscaling.Bilinear : HeatMapUpscaling.Nearest, r.GetValue(alpha));
            var pngs = new List<(string Name, SKBitmap Picture)> { ("image.png", pictures.Image), ("mean.png", pictures.Map(maps.Mean)) };
            var files = new List<(string Name, Action<string> Write)>();
            var heads = new JsonArray();
            for (int h = 0; h < maps.Heads.Count; h++)
            {
                var head = maps.Heads[h];
                pngs.Add(($"head-{h}.png", pictures.Map(head)));
                var entry = new JsonObject { ["head"] = h, ["entropy"] = AttentionMaps.Entropy(head), ["max"] = head.Cast<float>().Max(), ["file"] = $"head-{h}.png" };
                if (r.GetValue(threshold) is { } share)
                {
                    var mask = TopMassMask.Compute(head, share);
                    pngs.Add(($"head-{h}-mask.png", pictures.Mask(mask)));
                    entry["mask_file"] = $"head-{h}-mask.png";
                    entry["kept_patches"] = TopMassMask.Count(mask);
                    entry["kept_mass"] = TopMassMask.KeptMass(head, mask);
                }
                heads.Add(entry);
            }
            var report = new JsonObject
            {
                ["image"] = Path.GetFullPath(imagePath),
                ["preprocessing"] = preprocessing.Pipeline,
                ["input_size"] = size.ToString(),
                ["patch_size"] = config.PatchSize,
                ["grid"] = grid.ToString(),
                ["query"] = maps.FromClassToken ? "class token" : "mean over patch queries (the model has no class token)",
                ["prefix_tokens_skipped"] = config.NumPrefixTokens,
                ["register_tokens"] = config.RegTokens,
                ["threshold"] = r.GetValue(threshold),
                ["max_entropy"] = Math.Log(grid.Count),
                ["mean_entropy"] = AttentionMaps.Entropy(maps.Mean),
                ["heads"] = heads,
                ["mean_map"] = new JsonArray([.. Enumerable.Range(0, grid.Height).Select(row =>
                    (JsonNode)new JsonArray([.. Enumerable.Range(0, grid.Width).Select(c => JsonValue.Create(maps.Mean[row, c]))]))]),
            };
            files.Add(("attention.json", path => OutputFile.WriteText(path, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n")));
            if (r.GetValue(saveTensors))
            {
                var tensors = new Dictionary<string, Tensor> { ["input"] = input.unsqueeze(0), ["maps"] = maps.ToTensor(), ["mean"] = AttentionMaps.ToTensor(maps.Mean) };
                files.Add(("attention.safetensors", path => SafeTensors.Write(path, tensors)));
            }

            // No picture may land on the image or checkpoint it was made from (attention d/image.png --out d).
            string outFolder = r.GetValue(outDir)!;
            foreach (string name in pngs.Select(p => p.Name).Concat(files.Select(f => f.Name)))
                CliInputs.RequireNotAnInput(Path.Combine(outFolder, name), imagePath, r.GetValue(weights));
            // Everything is computed before the first file is written; each file then appears whole or not at all.
            bool newFolder = !Directory.Exists(outFolder);
            string folder = Directory.CreateDirectory(outFolder).FullName;
            var created = new List<string>();
            void Track(string path, Action<string> write)
            {
                bool existed = File.Exists(path);
                write(path);
                if (!existed) created.Add(path);
            }
            try
            {
                foreach (var (name, picture) in pngs) Track(Path.Combine(folder, name), path => OutputFile.WritePng(picture, path));
                foreach (var (name, write) in files) Track(Path.Combine(folder, name), write);
            }
            catch
            {
                // A set cut short (a full disk) is no set: what this run added goes again, and so does a folder it made.
                foreach (string path in created) AtomicFile.TryDelete(path);
                if (newFolder && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
                throw;
            }
            finally
            {
                foreach (var (_, picture) in pngs) picture.Dispose();
            }
            output.WriteLine($"{maps.Heads.Count} heads on a {grid} grid ({size} input, {(maps.FromClassToken ? "class token" : "mean patch query")}) -> {folder}: " +
                string.Join(", ", pngs.Select(f => f.Name).Concat(files.Select(f => f.Name))));
            return 0;
        });
        return command;
    }

    /// <summary>The pictures of one image: maps and masks drawn over it. Each call returns a new bitmap.</summary>
    private sealed class AttentionPictures(SKBitmap image, Colormap colormap, HeatMapUpscaling upscaling, float alpha)
    {
        public SKBitmap Image => image.Copy();

        public SKBitmap Map(float[,] values)
        {
            using var heat = HeatMap.Render(values, image.Width, image.Height, colormap, upscaling);
            return Overlay.Blend(image, heat, alpha);
        }

        /// <summary>The kept patches tinted with the top colour of the map; the rest shows the image as it is.</summary>
        public SKBitmap Mask(bool[,] kept)
        {
            using var tint = HeatMap.Render(new float[,] { { 1 } }, image.Width, image.Height, colormap, range: new ValueRange(0, 1));
            return Overlay.Blend(image, tint, alpha, kept);
        }
    }
}
