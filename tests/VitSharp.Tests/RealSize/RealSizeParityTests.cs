using System.Text.Json.Nodes;
using SkiaSharp;
using VitSharp.IO;
using static TorchSharp.torch;
using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.RealSize;

/// <summary>
/// Real widths and token counts against real PyTorch: torchvision's own VisionTransformer at ViT-B/16 and ViT-S/16
/// widths and a DINO-style ViT-S/16, each with a 1000-class head (depth 2), through <c>vitsharp forward</c>,
/// <c>classify</c> and <c>embed</c> with default settings (Auto kernels), at batch 1 and 8, at 224×224 and (DINO's
/// interpolate_pos_encoding) 224×320. These are the shapes where the packed oneDNN linear and oneDNN attention were
/// wrong on a Zen 5 CPU while every toy shape passed. Fixtures: tools/fixtures/generate_realsize_fixtures.py.
/// </summary>
[Trait("Category", "Kernels")]
public sealed class RealSizeParityTests(RealSizeCheckpoints checkpoints) : IClassFixture<RealSizeCheckpoints>
{
    private const double LogitTolerance = 1e-4;
    private const double ProbabilityTolerance = 2e-5;
    private const double FeatureTolerance = 1e-4;

    public static TheoryData<string> Cases => ["torchvision_b16", "torchvision_s16", "dino_s16"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_matches_pytorch_at_batch_8_and_1(string name)
    {
        var model = checkpoints.Get(name);
        using var expected = Fixtures.Tensors("realsize", name + ".safetensors");
        foreach (var size in model.Case["forward_sizes"]!.AsArray())
        {
            int height = (int)size![0]!, width = (int)size[1]!;
            string key = $"forward_{height}x{width}";
            foreach (int batch in new[] { 8, 1 })
            {
                string input = checkpoints.Input(height, width, batch);
                string output = Path.Combine(checkpoints.Folder, $"{name}-{key}-b{batch}.safetensors");
                var (code, _, err) = Run(["forward", "--weights", model.Weights, "--input", input, "--out", output, .. model.FamilyArgs]);
                Assert.True(code == 0, err);
                using var actual = SafeTensors.Read(output);
                using var logits = actual.Get("logits");
                using var features = actual.Get("cls_features");
                using var wantLogits = expected.Get(key + ".logits")[..batch];
                using var wantFeatures = expected.Get(key + ".features")[..batch];
                Fixtures.AssertClose(logits, wantLogits, $"{name} {key} batch {batch} logits", LogitTolerance);
                Fixtures.AssertClose(features, wantFeatures, $"{name} {key} batch {batch} features", FeatureTolerance);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Classify_gives_pytorchs_probabilities_for_all_1000_classes_at_batch_8_and_1(string name)
    {
        var model = checkpoints.Get(name);
        using var expected = Fixtures.Tensors("realsize", name + ".safetensors");
        using var probabilities = expected.Get("images.probabilities");
        float[,] want = ToMatrix(probabilities);
        foreach (string batch in new[] { "8", "1" })
        {
            var (code, stdout, err) = Run(["classify", "--weights", model.Weights, checkpoints.ImageFolder, "--json",
                "--top-k", "1000", "--batch", batch, .. model.FamilyArgs]);
            Assert.True(code == 0, err);
            var records = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.Equal(checkpoints.Images.Count, records.Count);
            foreach (var record in records)
            {
                int image = checkpoints.Images.IndexOf((string)record["file"]!);
                var predictions = record["predictions"]!.AsArray();
                Assert.Equal(1000, predictions.Count);
                double previous = double.PositiveInfinity, worst = 0;
                foreach (var prediction in predictions)
                {
                    double p = (double)prediction!["probability"]!;
                    Assert.True(p <= previous, "predictions are not in descending order");
                    previous = p;
                    worst = Math.Max(worst, Math.Abs(p - want[image, (int)prediction["index"]!]));
                }
                Assert.True(worst <= ProbabilityTolerance, $"{name} image {image} batch {batch}: max |probability error| {worst:E3} > {ProbabilityTolerance:E1}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Embed_gives_pytorchs_pooled_features(string name)
    {
        var model = checkpoints.Get(name);
        using var expected = Fixtures.Tensors("realsize", name + ".safetensors");
        string output = Path.Combine(checkpoints.Folder, name + "-embed.safetensors");
        var (code, _, err) = Run(["embed", "--weights", model.Weights, checkpoints.ImageFolder, "--out", output, .. model.FamilyArgs]);
        Assert.True(code == 0, err);
        using var actual = SafeTensors.Read(output);
        Assert.Equal(checkpoints.Images, System.Text.Json.JsonSerializer.Deserialize<string[]>(actual.Metadata["files"])!);
        using var features = actual.Get("features");
        using var want = expected.Get("images.features");
        Fixtures.AssertClose(features, want, $"{name} embed", FeatureTolerance);
    }

    private static float[,] ToMatrix(Tensor t)
    {
        var rows = (int)t.shape[0];
        var columns = (int)t.shape[1];
        float[] flat = t.data<float>().ToArray();
        var matrix = new float[rows, columns];
        Buffer.BlockCopy(flat, 0, matrix, 0, flat.Length * sizeof(float));
        return matrix;
    }
}

/// <summary>The real-size checkpoints, input batches and images, rebuilt from <see cref="HashedValues"/> once per test class.</summary>
public sealed class RealSizeCheckpoints : IDisposable
{
    private readonly Dictionary<string, Model> models = [];
    private readonly JsonNode manifest = Fixtures.Json("realsize", "cases.json");

    public sealed record Model(JsonNode Case, string Weights, string[] FamilyArgs);

    public string Folder { get; } = Directory.CreateTempSubdirectory("vitsharp-realsize-").FullName;

    public string ImageFolder => Path.Combine(Folder, "images");

    public List<string> Images { get; } = [];

    public RealSizeCheckpoints()
    {
        Directory.CreateDirectory(ImageFolder);
        var first = manifest["cases"]![0]!;
        int count = (int)first["images"]!, side = (int)first["image_side"]!;
        for (int i = 0; i < count; i++)
            Images.Add(WritePng($"image_{i}", side));
    }

    public Model Get(string name)
    {
        lock (models)
        {
            if (models.TryGetValue(name, out var model)) return model;
            var entry = manifest["cases"]!.AsArray().Single(c => (string)c!["name"]! == name)!;
            string weights = Path.Combine(Folder, name + ".safetensors");
            var tensors = new Dictionary<string, Tensor>();
            try
            {
                foreach (var spec in entry["tensors"]!.AsArray())
                {
                    long[] shape = spec!["shape"]!.AsArray().Select(d => (long)d!).ToArray();
                    float[] values = HashedValues.Values((string)spec["name"]!, shape.Aggregate(1L, (a, b) => a * b),
                        (double)spec["scale"]!, (double)spec["offset"]!);
                    tensors[(string)spec["name"]!] = tensor(values, shape);
                }
                SafeTensors.Write(weights, tensors);
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
            // torchvision's names are recognised as they are; timm-style names need the family to get DINO's semantics.
            string family = (string)entry["family"]!;
            model = new Model(entry, weights, family == "torchvision" ? [] : ["--family", family]);
            models[name] = model;
            return model;
        }
    }

    /// <summary>The hashed input batch the generator ran (its first <paramref name="batch"/> images) as a safetensors file.</summary>
    public string Input(int height, int width, int batch)
    {
        string path = Path.Combine(Folder, $"input-{height}x{width}-b{batch}.safetensors");
        lock (models)
        {
            if (File.Exists(path)) return path;
            long perImage = 3L * height * width;
            float[] all = HashedValues.Values($"input_{height}x{width}", 8 * perImage, 2.0);
            using var input = tensor(all.AsSpan(0, (int)(batch * perImage)).ToArray(), [batch, 3, height, width]);
            SafeTensors.Write(path, new Dictionary<string, Tensor> { ["input"] = input });
        }
        return path;
    }

    private string WritePng(string name, int side)
    {
        byte[] rgb = HashedValues.Pixels(name, side, side);
        using var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
            {
                int i = (y * side + x) * 3;
                bitmap.SetPixel(x, y, new SKColor(rgb[i], rgb[i + 1], rgb[i + 2]));
            }
        string path = Path.Combine(ImageFolder, name + ".png");
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
