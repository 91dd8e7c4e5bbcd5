using VitSharp.Cli;
using VitSharp.IO;
using static TorchSharp.torch;
using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.Cli;

/// <summary>The interop commands, run in-process through the same entry point as the <c>vitsharp</c> executable.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-cli-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private string Out(string name) => Path.Combine(work, name);

    [Fact]
    public void Posembed_resample_reproduces_a_dino_fixture_from_the_image_size()
    {
        string input = Out("table.safetensors");
        using (var cases = Fixtures.Tensors("posembed", "cases.safetensors"))
            SafeTensors.Write(input, new Dictionary<string, Tensor> { ["pos_embed"] = cases.Get("dino_14to7.input"), ["other"] = zeros(3) });

        var (code, _, err) = Run("posembed", "resample", "--in", input, "--image", "112x112", "--patch", "16", "--style", "dino", "--out", Out("y.safetensors"));

        Assert.True(code == 0, err);
        using var result = SafeTensors.Read(Out("y.safetensors"));
        Assert.Equal(["pos_embed"], result.Keys);
        using var cases2 = Fixtures.Tensors("posembed", "cases.safetensors");
        Fixtures.AssertClose(result.Get("pos_embed"), cases2.Get("dino_14to7.expected"), "CLI dino 14->7");
    }

    [Fact]
    public void Posembed_resample_takes_a_non_square_source_grid_and_options()
    {
        string input = Out("rect.safetensors");
        SafeTensors.Write(input, new Dictionary<string, Tensor> { ["t"] = randn(1, 12 * 16, 8) });
        var (code, stdout, err) = Run("posembed", "resample", "--in", input, "--key", "t", "--from", "12x16", "--prefix-tokens", "0",
            "--grid", "7x9", "--style", "timm", "--mode", "bilinear", "--antialias", "false", "--out", Out("r.safetensors"));
        Assert.True(code == 0, err);
        Assert.Contains("bilinear", stdout);
        using var result = SafeTensors.Read(Out("r.safetensors"));
        Assert.Equal(new long[] { 1, 63, 8 }, result.GetInfo("t").Shape);
    }

    [Fact]
    public void Forward_writes_pytorchs_outputs_for_a_non_square_input()
    {
        string name = "vit_timm_rect", size = "24x56";
        string input = Out("input.safetensors");
        using (var io = Fixtures.Tensors("models", $"{name}.io.safetensors"))
            SafeTensors.Write(input, new Dictionary<string, Tensor> { ["input"] = io.Get($"input.{size}") });

        var (code, _, err) = Run("forward", "--weights", Fixtures.Path_("models", $"{name}.weights.safetensors"),
            "--config", Fixtures.Path_("models", $"{name}.json"), "--input", input, "--out", Out("out.safetensors"));

        Assert.True(code == 0, err);
        using var outputs = SafeTensors.Read(Out("out.safetensors"));
        using var expected = Fixtures.Tensors("models", $"{name}.io.safetensors");
        foreach (string key in new[] { "logits", "cls_features", "last_selfattention" })
            Fixtures.AssertClose(outputs.Get(key), expected.Get($"{key}.{size}"), $"forward {key}");
    }

    [Fact]
    public void Forward_accepts_a_registered_architecture_and_a_style()
    {
        string weights = Out("tiny.safetensors"), input = Out("x.safetensors");
        using (var model = VitSharp.Registry.VitRegistry.Create("vit_tiny_patch16_224"))
            SafeTensors.Write(weights, model.state_dict());
        SafeTensors.Write(input, new Dictionary<string, Tensor> { ["images"] = randn(1, 3, 32, 48) });

        var (code, _, err) = Run("forward", "--weights", weights, "--arch", "vit_tiny_patch16_224", "--posembed-style", "dino",
            "--input", input, "--input-key", "images", "--out", Out("o.safetensors"));

        Assert.True(code == 0, err);
        using var outputs = SafeTensors.Read(Out("o.safetensors"));
        Assert.Equal(new long[] { 1, 1000 }, outputs.GetInfo("logits").Shape);
        Assert.Equal(new long[] { 1, 192 }, outputs.GetInfo("cls_features").Shape);
        Assert.Equal(new long[] { 1, 3, 7, 7 }, outputs.GetInfo("last_selfattention").Shape);
        Assert.Contains("dino", outputs.Metadata["vitsharp.posembed.semantics"]);
    }

    public static TheoryData<string, string[]> BadInvocations() => new()
    {
        { "does not exist", ["forward", "--weights", "/nonexistent/w.safetensors", "--arch", "vit_tiny_patch16_224", "--input", "/nonexistent/x.safetensors", "--out", "OUT"] },
        { "unknown architecture", ["forward", "--weights", "W", "--arch", "vit_nonsense", "--input", "X", "--out", "OUT"] },
        { "at most one of --arch", ["forward", "--weights", "W", "--arch", "vit_tiny_patch16_224", "--config", "CONFIG", "--input", "X", "--out", "OUT"] },
        { "number of attention heads of a 48-wide model", ["forward", "--weights", "W", "--input", "X", "--input-key", "input.32x32", "--out", "OUT"] },
        { "not a checkpoint VitSharp can read", ["inspect", "CONFIG"] },
        { "OUT must be a .safetensors file", ["convert", "W", "CONFIG"] },
        { "output folder", ["convert", "W", "/nonexistent/folder/w.safetensors", "--config", "CONFIG"] },
        { "unknown checkpoint family", ["inspect", "W", "--family", "jax"] },
        { "unknown position-embedding style", ["posembed", "resample", "--in", "W", "--grid", "4x4", "--style", "bogus", "--out", "OUT"] },
        { "exactly one of --grid", ["posembed", "resample", "--in", "W", "--style", "timm", "--out", "OUT"] },
        { "not a square grid", ["posembed", "resample", "--in", "RECT", "--grid", "4x4", "--style", "timm", "--out", "OUT"] },
        { "has no tensor 'pos_embed'", ["posembed", "resample", "--in", "RECT_OTHERKEY", "--grid", "4x4", "--style", "timm", "--out", "OUT"] },
        { "is required", ["posembed", "resample", "--grid", "4x4"] },
        { "expected [B, C, H, W]", ["forward", "--weights", "W", "--config", "CONFIG", "--input", "RECT", "--input-key", "pos_embed", "--out", "OUT"] },
        { "expected 3 input channels", ["forward", "--weights", "W", "--config", "CONFIG", "--input", "GRAY", "--out", "OUT"] },
    };

    [Theory]
    [MemberData(nameof(BadInvocations))]
    public void Failures_exit_non_zero_with_one_line_and_no_output(string expected, string[] args)
    {
        SafeTensors.Write(Out("rect.safetensors"), new Dictionary<string, Tensor> { ["pos_embed"] = randn(1, 1 + 12 * 16, 8) });
        SafeTensors.Write(Out("other.safetensors"), new Dictionary<string, Tensor> { ["something"] = randn(1, 17, 8) });
        SafeTensors.Write(Out("gray.safetensors"), new Dictionary<string, Tensor> { ["input"] = randn(1, 1, 32, 32) });
        var resolved = args.Select(a => a switch
        {
            "OUT" => Out("out.safetensors"),
            "RECT" => Out("rect.safetensors"),
            "RECT_OTHERKEY" => Out("other.safetensors"),
            "GRAY" => Out("gray.safetensors"),
            "CONFIG" => Fixtures.Path_("models", "vit_timm_p8.json"),
            "W" => Fixtures.Path_("models", "vit_timm_p8.weights.safetensors"),
            "X" => Fixtures.Path_("models", "vit_timm_p8.io.safetensors"),
            _ => a,
        }).ToArray();

        var (code, _, err) = Run(resolved);

        Assert.NotEqual(0, code);
        Assert.Contains(expected, err);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.False(File.Exists(Out("out.safetensors")));
    }

    [Fact]
    public void Forward_refuses_unknown_keys_unless_non_strict_and_a_size_not_divisible_by_the_patch()
    {
        string name = "vit_timm_p8";
        string weights = Out("weights.safetensors");
        using (var file = Fixtures.Tensors("models", $"{name}.weights.safetensors"))
        {
            var dict = file.ToDictionary();
            dict["extra.buffer"] = zeros(2);
            SafeTensors.Write(weights, dict);
        }
        string input = Out("x.safetensors");
        SafeTensors.Write(input, new Dictionary<string, Tensor> { ["input"] = randn(1, 3, 30, 32) });
        string config = Fixtures.Path_("models", $"{name}.json");

        var strict = Run("forward", "--weights", weights, "--config", config, "--input", input, "--out", Out("out.safetensors"));
        Assert.Equal(CliApp.Failure, strict.Code);
        Assert.Contains("does not explain: extra.buffer", strict.Err);

        var nonStrict = Run("forward", "--weights", weights, "--config", config, "--non-strict", "--input", input, "--out", Out("out.safetensors"));
        Assert.Equal(CliApp.Failure, nonStrict.Code);
        Assert.Contains("not divisible by the patch size 8", nonStrict.Err);
        Assert.False(File.Exists(Out("out.safetensors")));
    }

    [Fact]
    public void Demo_classifies_the_sample_at_several_sizes_with_every_semantics_and_draws_the_pictures()
    {
        string folder = Out("demo");
        var (code, stdout, err) = Run("demo", "--dataset", "fashion-mnist:sample", "--limit", "60", "--sizes", "28", "56x28", "20", "--out", folder);
        Assert.True(code == 0, err);
        Assert.Contains("shipped", stdout, StringComparison.Ordinal);
        Assert.Contains("bundled Fashion-MNIST sample", stdout);
        Assert.Contains("naive at 56x28: 14x7 needs 99 table rows, the table has 50", stdout);

        // One row per size and style; the naive slicing runs where the table has enough rows and equals every
        // resampling at the trained size, where nothing is resampled.
        var rows = File.ReadAllLines(Path.Combine(folder, "accuracy.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(3 * 6, rows.Count);
        Assert.All(rows.Where(r => r[0] != "56x28" || r[1] != "naive"), r => Assert.InRange(double.Parse(r[2], System.Globalization.CultureInfo.InvariantCulture), 0.0, 1.0));
        var trained = rows.Where(r => r[0] == "28x28").Select(r => r[2]).Distinct().ToList();
        Assert.Single(trained);
        Assert.True(double.Parse(trained[0], System.Globalization.CultureInfo.InvariantCulture) > 0.8, $"the shipped model got {trained[0]} on 60 sample images");
        Assert.Equal("", rows.Single(r => r[0] == "56x28" && r[1] == "naive")[2]);

        foreach (string picture in new[] { "posembed-7x7.png", "posembed-resampled-14x14.png", "posembed-resampled-7x21.png" })
            Assert.True(new FileInfo(Path.Combine(folder, picture)).Length > 1000, picture);
        Assert.Equal(4, Directory.GetDirectories(folder, "attention-*").Count(d => File.Exists(Path.Combine(d, "mean.png"))));
    }

    [Theory]
    [InlineData("fmnist-hybrid-vit")] // BatchNorm stem: running statistics in the file
    [InlineData("fmnist-hybrid-ln")] // LayerNorm2d stem: the norm named in the config metadata
    public void The_committed_hybrid_models_load_from_their_own_metadata_and_classify_the_sample(string model)
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "VitSharp.slnx"))) root = Path.GetDirectoryName(root.TrimEnd(Path.DirectorySeparatorChar))!;
        string weights = Path.Combine(root, "models", model, "model.safetensors");
        var (code, json, err) = Run("eval", "--weights", weights, "--dataset", "fashion-mnist:sample", "--limit", "200", "--json");
        Assert.True(code == 0, err);
        Assert.True((double)System.Text.Json.Nodes.JsonNode.Parse(json)!["accuracy"]! > 0.85, json);
    }

    [Fact]
    public void Examples_default_to_the_shipped_model()
    {
        // Test image 0 of Fashion-MNIST is an ankle boot; written as the PNG a user would have.
        string image = Out("boot.png");
        var sample = VitSharp.Training.Data.FashionMnist.Open("fashion-mnist:sample", "test");
        using (var picture = VitSharp.Visualization.InputPicture.FromNormalized(sample.Get(0).Image, [0f], [1f]))
            VitSharp.Visualization.OutputFile.WritePng(picture, image);
        Assert.Equal(9, sample.Get(0).Label);

        var (code, stdout, err) = Run("classify", image, "--preset", "resize", "--top-k", "1", "--json");
        Assert.True(code == 0, err);
        Assert.Contains("Ankle boot", stdout);

        var (evalCode, json, evalErr) = Run("eval", "--dataset", "fashion-mnist:sample", "--limit", "200", "--json");
        Assert.True(evalCode == 0, evalErr);
        var o = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        Assert.EndsWith(Path.Combine("models", "fmnist-hybrid-multires", "model.safetensors"), (string)o["weights"]!);
        Assert.True((double)o["accuracy"]! > 0.8, json);
    }

    [Fact]
    public void Classify_and_eval_run_in_bf16_and_agree_with_fp32()
    {
        // 32 Fashion-MNIST test images as the PNG files a user would have, classified by the shipped model both ways.
        string folder = Out("bf16-images");
        Directory.CreateDirectory(folder);
        var sample = VitSharp.Training.Data.FashionMnist.Open("fashion-mnist:sample", "test");
        for (int i = 0; i < 32; i++)
            using (var picture = VitSharp.Visualization.InputPicture.FromNormalized(sample.Get(i).Image, [0f], [1f]))
                VitSharp.Visualization.OutputFile.WritePng(picture, Path.Combine(folder, $"{i:D2}.png"));
        List<string> TopClasses(params string[] extra)
        {
            var (code, stdout, err) = Run(["classify", folder, "--preset", "resize", "--top-k", "1", "--json", .. extra]);
            Assert.True(code == 0, err);
            return [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (string)System.Text.Json.Nodes.JsonNode.Parse(l)!["predictions"]![0]!["label"]!)];
        }
        var fp32 = TopClasses();
        var bf16 = TopClasses("--dtype", "bf16");
        Assert.Equal(32, bf16.Count);
        Assert.True(fp32.Zip(bf16).Count(p => p.First == p.Second) >= 31, $"fp32: {string.Join(",", fp32)}; bf16: {string.Join(",", bf16)}");

        double Accuracy(string dtype)
        {
            var (code, json, err) = Run("eval", "--dataset", "fashion-mnist:sample", "--limit", "256", "--size", "56", "--dtype", dtype, "--json");
            Assert.True(code == 0, err);
            var o = System.Text.Json.Nodes.JsonNode.Parse(json)!;
            Assert.Equal(dtype, (string)o["dtype"]!);
            return (double)o["accuracy"]!;
        }
        double fp32Accuracy = Accuracy("fp32"), bf16Accuracy = Accuracy("bf16");
        Assert.True(Math.Abs(fp32Accuracy - bf16Accuracy) <= 2.0 / 256, $"eval at 56x56: fp32 {fp32Accuracy}, bf16 {bf16Accuracy}");

        var (refused, _, error) = Run("eval", "--dataset", "fashion-mnist:sample", "--limit", "8", "--dtype", "fp8");
        Assert.Equal(CliApp.Failure, refused);
        Assert.Contains("--dtype 'fp8' is not supported; expected fp32 or bf16", error);
    }

    [Fact]
    public void Inspect_describes_a_training_checkpoint_in_text_and_json()
    {
        string file = Fixtures.Path_("checkpoints", "dino_train.pth");
        var (code, text, err) = Run("inspect", file, "--num-heads", "2");
        Assert.True(code == 0, err);
        Assert.Contains("family        dino (weights under 'teacher')", text);
        Assert.Contains("features only", text);
        Assert.Contains("other entry   args", text);

        var (jsonCode, json, jsonErr) = Run("inspect", file, "--num-heads", "2", "--json", "--key", "student");
        Assert.True(jsonCode == 0, jsonErr);
        var o = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        Assert.Equal("pytorch-zip", o["format"]!.GetValue<string>());
        Assert.Equal("student", o["wrapper"]!.GetValue<string>());
        Assert.Equal(24, o["config"]!["embed_dim"]!.GetValue<int>());
        Assert.Equal("4x4", o["grid"]!.GetValue<string>());
    }

    [Fact]
    public void Convert_turns_a_hugging_face_bin_into_timm_safetensors_that_forward_runs_like_pytorch()
    {
        string converted = Out("hf.safetensors");
        var (code, stdout, err) = Run("convert", Fixtures.Path_("checkpoints", "hf_cls_bin"), converted);
        Assert.True(code == 0, err);
        Assert.Contains("hf pytorch-zip ->", stdout);
        Assert.True(File.Exists(Out("hf.json")));
        using (var file = SafeTensors.Read(converted)) Assert.Contains("blocks.1.attn.qkv.weight", file.Keys);

        string input = Out("x.safetensors");
        using (var io = Fixtures.Tensors("checkpoints", "io", "hf_cls.io.safetensors"))
            SafeTensors.Write(input, new Dictionary<string, Tensor> { ["input"] = io.Get("input.24x40") });
        var forward = Run("forward", "--weights", converted, "--input", input, "--out", Out("out.safetensors"));
        Assert.True(forward.Code == 0, forward.Err);
        using var outputs = SafeTensors.Read(Out("out.safetensors"));
        using var expected = Fixtures.Tensors("checkpoints", "io", "hf_cls.io.safetensors");
        Fixtures.AssertClose(outputs.Get("logits"), expected.Get("logits.24x40"), "HF converted, 24x40");
    }

    [Fact]
    public void Convert_keeps_a_safetensors_metadata_block_and_can_store_bfloat16()
    {
        string source = Out("licensed.safetensors");
        using (var file = Fixtures.Tensors("checkpoints", "timm_f32.safetensors"))
            SafeTensors.Write(source, file.ToDictionary(), new Dictionary<string, string> { ["license"] = "cc-by-4.0", ["format"] = "pt" });
        var (code, _, err) = Run("convert", source, Out("bf16.safetensors"), "--num-heads", "2", "--dtype", "bf16");
        Assert.True(code == 0, err);
        using var converted = SafeTensors.Read(Out("bf16.safetensors"));
        Assert.Equal("cc-by-4.0", converted.Metadata["license"]);
        Assert.Equal("timm", converted.Metadata["vitsharp.source.family"]);
        Assert.Equal(ScalarType.BFloat16, converted.GetInfo("blocks.0.attn.qkv.weight").ScalarType);
    }

    [Fact]
    public void Convert_to_a_larger_image_resamples_the_table_with_the_chosen_semantics()
    {
        var (code, stdout, err) = Run("convert", Fixtures.Path_("checkpoints", "timm_f32.safetensors"), Out("big.safetensors"),
            "--num-heads", "2", "--img-size", "48x40", "--load-resampling", "dino");
        Assert.True(code == 0, err);
        Assert.Contains("pos_embed resampled from the 4x4 grid to 6x5 (dino semantics)", stdout);
        using var converted = SafeTensors.Read(Out("big.safetensors"));
        using var original = Fixtures.Tensors("checkpoints", "timm_f32.safetensors");
        using var expected = VitSharp.PosEmbed.PosEmbedResampler.Resample(original.Get("pos_embed"), new(4, 4), new(6, 5), 1, VitSharp.PosEmbed.PosEmbedResampling.DinoV1);
        Assert.Equal(0.0, Fixtures.MaxAbsDiff(converted.Get("pos_embed"), expected));
        Assert.Contains("\"img_size\": [\n    48,\n    40\n  ]", File.ReadAllText(Out("big.json")).ReplaceLineEndings("\n"));
    }
}
