using System.Text.Json;
using System.Text.Json.Nodes;
using VitSharp.Cli;
using VitSharp.Inference;
using VitSharp.IO;
using VitSharp.Tests.Inference;
using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.Cli;

/// <summary><c>vitsharp classify</c> and <c>embed</c>, run in-process on generated images and the Hugging Face fixture.</summary>
public sealed class InferenceCliTests : IDisposable
{
    /// <summary>The documented exit code for "some files failed".</summary>
    private const int SomeFilesFailed = 3;

    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-infer-cli-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private static string Checkpoint => Fixtures.Path_("checkpoints", "hf_cls_st");

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public void Classify_prints_top_k_blocks_that_match_the_library()
    {
        string image = TestImages.Png(work, "one.png", 40, 40, seed: 5);
        var (code, stdout, err) = Run("classify", "--weights", Checkpoint, image, "--top-k", "3");

        Assert.True(code == 0, err);
        using var classifier = new ImageClassifier(Checkpoint);
        var expected = classifier.Classify(image, topK: 3);
        var lines = Lines(stdout);
        Assert.Equal(image, lines[0]);
        Assert.Equal(4, lines.Length);
        for (int i = 0; i < 3; i++)
            Assert.EndsWith($"{expected[i].Label} [{expected[i].Index}]", lines[i + 1]);
    }

    [Fact]
    public void A_folder_with_bad_files_reports_each_once_classifies_the_rest_and_exits_3()
    {
        var (good, bad) = TestImages.MixedFolder(work);
        var (code, stdout, err) = Run("classify", "--weights", Checkpoint, work, "--json", "--batch", "2", "--top-k", "2");

        Assert.Equal(SomeFilesFailed, code);
        var errLines = Lines(err);
        Assert.Equal(bad.Length, errLines.Length);
        foreach (string file in bad) Assert.Single(errLines, l => l.StartsWith(file + ": "));

        var records = Lines(stdout).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(good.Concat(bad).Order(StringComparer.Ordinal), records.Select(r => (string)r["file"]!));
        foreach (var record in records)
        {
            bool isGood = good.Contains((string)record["file"]!);
            Assert.Equal(isGood, record.ContainsKey("predictions"));
            Assert.Equal(!isGood, record.ContainsKey("error"));
            if (isGood)
            {
                var first = record["predictions"]![0]!;
                Assert.InRange((double)first["probability"]!, 0, 1);
                Assert.Equal(2, record["predictions"]!.AsArray().Count);
            }
        }
    }

    [Fact]
    public void Images_over_the_pixel_limit_are_refused_by_name_and_the_rest_classified()
    {
        var (good, _) = TestImages.MixedFolder(work);
        // a.png is 40x30 and c.png 32x32 pixels; sub/d.jpg (48x64 = 3072 pixels) is over a 2000-pixel limit.
        var (code, stdout, err) = Run("classify", "--weights", Checkpoint, good[0], good[1], good[2], "--max-pixels", "2000", "--json");
        Assert.Equal(SomeFilesFailed, code);
        Assert.Single(Lines(err), l => l.StartsWith(good[2] + ": ", StringComparison.Ordinal) && l.Contains("3072", StringComparison.Ordinal));
        Assert.Equal(2, Lines(stdout).Count(l => l.Contains("\"predictions\"", StringComparison.Ordinal)));

        (code, _, err) = Run("classify", "--weights", Checkpoint, good[0], "--max-pixels", "0");
        Assert.Equal(1, code);
        Assert.Contains("--max-pixels must be positive", err);
    }

    [Fact]
    public void Embed_npy_and_safetensors_hold_only_the_good_files_in_order()
    {
        var (good, _) = TestImages.MixedFolder(work);
        string npy = Path.Combine(work, "out", "e.npy"), st = Path.Combine(work, "out", "e.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(npy)!);
        string[] sorted = [.. good.Order(StringComparer.Ordinal)];

        var (code, stdout, err) = Run("embed", "--weights", Checkpoint, work, "--out", npy);
        Assert.Equal(SomeFilesFailed, code);
        Assert.Equal(3, Lines(err).Length);
        Assert.Contains("3 x 24 features", stdout);
        byte[] bytes = File.ReadAllBytes(npy);
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
        Assert.Contains("'shape': (3, 24)", System.Text.Encoding.ASCII.GetString(bytes, 10, bytes[8] | bytes[9] << 8));
        Assert.Equal(sorted, Lines(File.ReadAllText(Path.Combine(work, "out", "e.files.txt"))));

        (code, stdout, err) = Run("embed", "--weights", Checkpoint, work, "--out", st, "--batch", "2", "--json");
        Assert.Equal(SomeFilesFailed, code);
        var rows = Lines(stdout).Select(l => JsonNode.Parse(l)!.AsObject()).Where(o => o.ContainsKey("row")).ToList();
        Assert.Equal(sorted, rows.Select(r => (string)r["file"]!));
        Assert.Equal([0, 1, 2], rows.Select(r => (int)r["row"]!));
        using var file = SafeTensors.Read(st);
        Assert.Equal(["features"], file.Keys);
        Assert.Equal(new long[] { 3, 24 }, file.GetInfo("features").Shape);
        Assert.Equal(sorted, JsonSerializer.Deserialize<string[]>(file.Metadata["files"])!);

        using var extractor = new FeatureExtractor(Checkpoint);
        float[] expected = extractor.Embed(sorted[1]);
        using var row = file.Get("features")[1];
        Assert.True(row.data<float>().ToArray().Zip(expected).All(p => Math.Abs(p.First - p.Second) <= 1e-5));
    }

    [Fact]
    public void Embed_writes_nothing_when_no_image_can_be_read()
    {
        string text = Path.Combine(work, "x.png");
        File.WriteAllText(text, "text");
        string output = Path.Combine(work, "e.npy");
        var (code, _, err) = Run("embed", "--weights", Checkpoint, text, "--out", output);
        Assert.Equal(SomeFilesFailed, code);
        Assert.Contains("was not written", err);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Labels_come_from_the_option_before_the_checkpoint()
    {
        string image = TestImages.Png(work, "l.png", 32, 32, seed: 9);
        string labels = Path.Combine(work, "names.json");
        File.WriteAllText(labels, JsonSerializer.Serialize(Enumerable.Range(0, 10).Select(i => $"custom{i}")));

        var (code, stdout, err) = Run("classify", "--weights", Checkpoint, image, "--json", "--labels", labels, "--top-k", "10");
        Assert.True(code == 0, err);
        var predictions = JsonNode.Parse(Lines(stdout)[0])!["predictions"]!.AsArray();
        Assert.All(predictions, p => Assert.Equal($"custom{(int)p!["index"]!}", (string)p["label"]!));

        (code, stdout, err) = Run("classify", "--weights", Checkpoint, image, "--json", "--top-k", "10");
        Assert.True(code == 0, err);
        string[] checkpointNames = ["apple", "bicycle", "cloud", "dolphin", "engine", "fern", "guitar", "harbor", "igloo", "jacket"];
        Assert.All(JsonNode.Parse(Lines(stdout)[0])!["predictions"]!.AsArray(), p => Assert.Equal(checkpointNames[(int)p!["index"]!], (string)p["label"]!));

        // With a rebuilt 1000-class head the 10 checkpoint names no longer fit: ImageNet-1k names are used.
        (code, stdout, err) = Run("classify", "--weights", Checkpoint, image, "--json", "--top-k", "1000", "--num-classes", "1000", "--non-strict");
        Assert.True(code == 0, err);
        var all = JsonNode.Parse(Lines(stdout)[0])!["predictions"]!.AsArray();
        Assert.Equal("tench", (string)all.Single(p => (int)p!["index"]! == 0)!["label"]!);
    }

    [Fact]
    public void Usage_and_model_errors_exit_1_with_one_line()
    {
        string image = TestImages.Png(work, "u.png", 32, 32, seed: 1);
        string wrong = Path.Combine(work, "wrong.txt");
        File.WriteAllText(wrong, "a\nb\n");
        foreach (var args in new[]
        {
            new[] { "classify", "--weights", Checkpoint, image, "--labels", wrong },
            ["classify", "--weights", Checkpoint, image, "--preset", "nope"],
            ["classify", "--weights", Checkpoint, Path.Combine(work, "empty-folder-does-not-matter"), "--batch", "0"],
            ["classify", "--weights", Path.Combine(work, "missing.safetensors"), image],
            ["embed", "--weights", Checkpoint, image, "--out", Path.Combine(work, "e.csv")],
            ["classify", "--weights", Checkpoint, $"@{Path.Combine(work, "no-list.txt")}"],
        })
        {
            var (code, stdout, err) = Run(args);
            Assert.True(code == CliApp.Failure, $"{string.Join(' ', args)} -> {code}: {err}");
            Assert.Single(Lines(err));
            Assert.StartsWith("vitsharp: error: ", err);
            Assert.Equal("", stdout);
        }
    }
}
