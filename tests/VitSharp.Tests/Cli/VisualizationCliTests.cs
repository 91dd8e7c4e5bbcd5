using TorchSharp;
using System.Text.Json.Nodes;
using SkiaSharp;
using VitSharp.Cli;
using VitSharp.IO;
using VitSharp.Tests.Models;
using static TorchSharp.torch;
using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.Cli;

/// <summary>The picture commands (attention, posembed show, resolution-sweep) on the small fixture models.</summary>
public sealed class VisualizationCliTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-viz-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private string Out(string name) => Path.Combine(work, name);

    private static string[] Model(string name) =>
        ["--weights", Fixtures.Path_("models", $"{name}.weights.safetensors"), "--config", Fixtures.Path_("models", $"{name}.json")];

    /// <summary>A small photo-like PNG: a gradient with a bright disc, so attention has something to look at.</summary>
    private static string WriteImage(string path, int width, int height, int seed)
    {
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        {
            using var shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height),
                [new SKColor((byte)(40 * seed), 60, 200), new SKColor(220, (byte)(90 + 30 * seed), 30)], SKShaderTileMode.Clamp);
            using var fill = new SKPaint { Shader = shader };
            canvas.DrawRect(0, 0, width, height, fill);
            using var disc = new SKPaint { Color = SKColors.White, IsAntialias = true };
            canvas.DrawCircle(width * (0.3f + 0.2f * seed), height * 0.5f, Math.Min(width, height) / 4f, disc);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    private static (int Width, int Height) PngSize(string path)
    {
        using var bitmap = SKBitmap.Decode(path);
        return (bitmap.Width, bitmap.Height);
    }

    [Fact]
    public void Posembed_show_draws_one_tile_per_position_on_the_native_or_a_resampled_grid()
    {
        var (code, stdout, err) = Run(["posembed", "show", .. Model("vit_timm_p8"), "--out", Out("native.png")]);
        Assert.True(code == 0, err);
        Assert.Contains("4x4 grid", stdout);
        // 4x4 tiles of 12 px cells (about 48 px each) + 2 px gaps, a 24 px label margin and a 20 px title.
        Assert.Equal((24 + 4 * (48 + 2), 20 + 24 + 4 * (48 + 2)), PngSize(Out("native.png")));

        (code, stdout, err) = Run(["posembed", "show", .. Model("vit_timm_p8"), "--grid", "6x8", "--style", "dino", "--cell", "10", "--out", Out("resampled.png")]);
        Assert.True(code == 0, err);
        Assert.Contains("resampled to 6x8 with dino", stdout);
        Assert.Equal((24 + 8 * (80 + 2), 20 + 24 + 6 * (60 + 2)), PngSize(Out("resampled.png")));
    }

    [Fact]
    public void Posembed_show_takes_a_bare_table()
    {
        string table = Out("table.safetensors");
        SafeTensors.Write(table, new Dictionary<string, Tensor> { ["t"] = randn(1, 2 + 3 * 5, 16) });
        var (code, stdout, err) = Run("posembed", "show", "--in", table, "--key", "t", "--from", "3x5", "--prefix-tokens", "2", "--cell", "4", "--out", Out("bare.png"));
        Assert.True(code == 0, err);
        Assert.Contains("'t' on 3x5", stdout);
        Assert.Equal((24 + 5 * (20 + 2), 20 + 24 + 3 * (12 + 2)), PngSize(Out("bare.png")));

        // The default colour scale is the table's own similarity range (the diagonal makes its top 1); --range fixed is the paper's.
        using (var file = SafeTensors.Read(table))
        {
            using var rows = file.Get("t")[0, 2..];
            using var unit = nn.functional.normalize(rows, dim: 1);
            float lowest = unit.matmul(unit.t()).min().item<float>();
            Assert.Contains($"colours {lowest:0.00} to 1.00", stdout);
        }
        (code, stdout, err) = Run("posembed", "show", "--in", table, "--key", "t", "--from", "3x5", "--prefix-tokens", "2", "--range", "fixed", "--out", Out("fixed.png"));
        Assert.True(code == 0, err);
        Assert.Contains("colours -1.00 to 1.00", stdout);

        (code, _, err) = Run("posembed", "show", "--in", table, "--key", "t", "--prefix-tokens", "2", "--out", Out("refused.png"));
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("--from", err);
        Assert.False(File.Exists(Out("refused.png")));
    }

    [Fact]
    public void Attention_writes_head_maps_that_are_the_models_class_token_attention()
    {
        string image = WriteImage(Out("photo.png"), 44, 36, seed: 1);
        string dir = Out("attention");
        var (code, stdout, err) = Run(["attention", .. Model("vit_timm_p8"), image, "--out", dir, "--threshold", "0.6", "--save-tensors", "--max-tokens", "20"]);
        Assert.True(code == 0, err);

        var report = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "attention.json")))!;
        string[] grid = report["grid"]!.GetValue<string>().Split('x');
        int rows = int.Parse(grid[0]), columns = int.Parse(grid[1]);
        Assert.True(rows * columns <= 20, $"grid {rows}x{columns} exceeds the token budget");
        Assert.Equal("class token", report["query"]!.GetValue<string>());
        for (int h = 0; h < 3; h++)
        {
            foreach (string file in new[] { $"head-{h}.png", $"head-{h}-mask.png" })
                Assert.Equal((columns * 8, rows * 8), PngSize(Path.Combine(dir, file)));
            Assert.True(report["heads"]![h]!["kept_mass"]!.GetValue<double>() >= 0.6);
        }
        Assert.Equal((columns * 8, rows * 8), PngSize(Path.Combine(dir, "mean.png")));
        Assert.DoesNotContain(Directory.GetFiles(dir), f => f.EndsWith(AtomicFile.TempSuffix, StringComparison.Ordinal));

        // The saved maps are the model's last-block attention of the class token to the patches, for the same input.
        using var saved = SafeTensors.Read(Path.Combine(dir, "attention.safetensors"));
        using var model = ModelParityTests.LoadModel("vit_timm_p8");
        using var _ = no_grad();
        using var attention = model.GetLastSelfAttention(saved.Get("input"));
        using var expected = attention[0, .., 0, 1..].reshape(3, rows, columns);
        Fixtures.AssertClose(saved.Get("maps"), expected, "head maps");
        Fixtures.AssertClose(saved.Get("mean"), expected.mean([0]), "mean map");
        var meanMap = report["mean_map"]!.AsArray().SelectMany(row => row!.AsArray().Select(v => v!.GetValue<float>())).ToArray();
        Fixtures.AssertClose(tensor(meanMap).reshape(rows, columns), expected.mean([0]), "mean map in attention.json");
        double entropy = report["heads"]![1]!["entropy"]!.GetValue<double>();
        using var p = expected[1] / expected[1].sum();
        Assert.Equal(-(p * p.log()).sum().item<float>(), entropy, 4);
        Assert.Contains("3 heads", stdout);
    }

    [Fact]
    public void Attention_of_a_model_without_class_token_uses_the_mean_patch_query_and_says_so()
    {
        string image = WriteImage(Out("photo.png"), 32, 32, seed: 2);
        string dir = Out("noclass");
        var (code, stdout, err) = Run(["attention", .. Model("vit_noclass"), image, "--out", dir, "--preset", "resize", "--save-tensors"]);
        Assert.True(code == 0, err);
        Assert.Contains("no class token", stdout);
        using var saved = SafeTensors.Read(Path.Combine(dir, "attention.safetensors"));
        using var model = ModelParityTests.LoadModel("vit_noclass");
        using var _ = no_grad();
        using var attention = model.GetLastSelfAttention(saved.Get("input"));
        long heads = attention.shape[1];
        Fixtures.AssertClose(saved.Get("maps"), attention[0].mean([1]).reshape(heads, 4, 4), "mean over patch queries");
        Assert.False(File.Exists(Path.Combine(dir, "head-0-mask.png")));
    }

    [Fact]
    public void Attention_refuses_a_broken_image_without_writing_anything()
    {
        File.WriteAllText(Out("broken.png"), "not a png");
        var (code, _, err) = Run(["attention", .. Model("vit_timm_p8"), Out("broken.png"), "--out", Out("none")]);
        Assert.Equal(CliApp.Failure, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(Directory.Exists(Out("none")));
    }

    [Fact]
    public void Resolution_sweep_reports_agreement_per_size_and_style_with_naive_slicing_where_it_fits()
    {
        string data = Out("images");
        for (int i = 0; i < 3; i++) WriteImage(Path.Combine(data, $"img{i}.png"), 40 + 8 * i, 32, seed: i);
        var (code, stdout, err) = Run(["resolution-sweep", .. Model("vit_timm_p8"), "--data", data, "--sizes", "16", "32", "24x48",
            "--styles", "timm,dino,naive", "--out-prefix", Out("sweep")]);
        Assert.True(code == 0, err);
        Assert.Contains("agreement", stdout);
        Assert.Contains("naive at 24x48", stdout);

        var lines = File.ReadAllLines(Out("sweep.csv"));
        Assert.Equal("size,height,width,tokens,style,metric,hits,total,value,note", lines[0]);
        Assert.Equal(1 + 3 * 3, lines.Length);
        var cells = lines.Skip(1).Select(l => l.Split(',')).ToList();
        // At the native size every style agrees with the native prediction: it is the same computation.
        Assert.All(cells.Where(c => c[0] == "32x32"), c => Assert.Equal("1", c[8]));
        // 24x48 is 3x6 = 18 patches + 1 class row, more than the 17-row table: the seed's slicing cannot run.
        Assert.Equal("", cells.Single(c => c[0] == "24x48" && c[4] == "naive")[8]);
        Assert.NotEqual("", cells.Single(c => c[0] == "16x16" && c[4] == "naive")[8]);
        Assert.Equal((800, 500), PngSize(Out("sweep.png")));
    }

    [Fact]
    public void Resolution_sweep_reports_accuracy_when_subfolders_are_the_models_labels()
    {
        var config = Fixtures.Json("models", "vit_timm_p8.json").AsObject();
        config["label_names"] = new JsonArray([.. Enumerable.Range(0, 10).Select(i => JsonValue.Create($"class {i}"))]);
        string configPath = Out("labelled.json");
        File.WriteAllText(configPath, config.ToJsonString());
        string data = Out("classes");
        WriteImage(Path.Combine(data, "class_3", "a.png"), 32, 32, seed: 0);
        WriteImage(Path.Combine(data, "class_3", "b.png"), 32, 40, seed: 1);
        WriteImage(Path.Combine(data, "Class-7", "c.png"), 48, 32, seed: 2);

        var (code, stdout, err) = Run("resolution-sweep", "--weights", Fixtures.Path_("models", "vit_timm_p8.weights.safetensors"), "--config", configPath,
            "--data", data, "--sizes", "32", "--styles", "timm", "--out-prefix", Out("acc"));
        Assert.True(code == 0, err);
        Assert.Contains("accuracy", stdout);

        // The expected count, from the model run on the same inputs.
        using var model = ModelParityTests.LoadModel("vit_timm_p8");
        int hits = 0;
        foreach (var (file, label) in new[] { ("class_3/a.png", 3), ("class_3/b.png", 3), ("Class-7/c.png", 7) })
        {
            using var bitmap = VitSharp.Imaging.ImageFile.Load(Path.Combine(data, file));
            using var input = VitSharp.Imaging.ImagePreprocessing.ForModel("resize", model.Config).Prepare(bitmap).unsqueeze(0);
            using var _ = no_grad();
            using var logits = model.call(input);
            if (logits.argmax(1).item<long>() == label) hits++;
        }
        var row = File.ReadAllLines(Out("acc.csv"))[1].Split(',');
        Assert.Equal(("accuracy", hits.ToString(), "3"), (row[5], row[6], row[7]));
    }

    [Fact]
    public void Resolution_sweep_refuses_sizes_off_the_patch_grid_before_writing()
    {
        string data = Out("one");
        WriteImage(Path.Combine(data, "x.png"), 32, 32, seed: 0);
        var (code, _, err) = Run(["resolution-sweep", .. Model("vit_timm_p8"), "--data", data, "--sizes", "30", "--out-prefix", Out("bad")]);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains("multiple of the patch size", err);
        Assert.False(File.Exists(Out("bad.csv")));
    }
}
