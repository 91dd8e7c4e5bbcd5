using VitSharp.Cli;
using VitSharp.IO;
using static TorchSharp.torch;
using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.Cli;

/// <summary><c>vitsharp preprocess</c> against the torchvision fixtures of tests/fixtures/images.</summary>
public sealed class PreprocessCommandTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-preprocess-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private string Out(string name) => Path.Combine(work, name);

    private static string Image(string name) => Fixtures.Path_("images", name);

    private void AssertWritesFixture(string fixtureKey, params string[] args)
    {
        var (code, stdout, err) = Run(["preprocess", .. args, "--out", Out("x.safetensors")]);
        Assert.True(code == 0, err);
        Assert.StartsWith("input: [1, ", stdout);
        using var written = SafeTensors.Read(Out("x.safetensors"));
        using var expected = Fixtures.Tensors("images", "expected.safetensors");
        Assert.Equal(["input"], written.Keys);
        Fixtures.AssertClose(written.Get("input").squeeze(0), expected.Get(fixtureKey), $"preprocess {string.Join(' ', args)}", 1e-6);
    }

    [Fact]
    public void Timm_preset_from_a_registered_architecture_matches_torchvision()
    {
        AssertWritesFixture("chelsea_png.timm224.tensor", Image("chelsea.png"), "--preset", "timm", "--arch", "vit_tiny_patch16_224");
    }

    [Fact]
    public void Native_preset_from_size_patch_and_budget_matches_torchvision()
    {
        AssertWritesFixture("chelsea_png.native224.tensor", Image("chelsea.png"), "--preset", "native", "--size", "224", "--patch", "16", "--max-tokens", "64");
    }

    [Fact]
    public void Config_file_gives_the_sizes_and_channels()
    {
        string config = Out("gray.json");
        File.WriteAllText(config, """{"img_size": 28, "patch_size": 7, "in_chans": 1, "embed_dim": 64, "depth": 2, "num_heads": 2}""");
        var (code, stdout, err) = Run("preprocess", Image("camera.png"), "--preset", "resize", "--config", config, "--out", Out("g.safetensors"));
        Assert.True(code == 0, err);
        Assert.Contains("[1, 1, 28, 28]", stdout);
        using var written = SafeTensors.Read(Out("g.safetensors"));
        using var expected = Fixtures.Tensors("images", "expected.safetensors");
        var pixels = expected.Get("camera_png.resize28.gray.pixels").to(ScalarType.Float32) / 255f;
        Fixtures.AssertClose(written.Get("input").squeeze(0), (pixels - 0.5f) / 0.5f, "preprocess --config gray", 1e-6);
    }

    [Theory]
    [InlineData("truncated.jpg", "the data is truncated")]
    [InlineData("empty.jpg", "the file is empty")]
    [InlineData("notanimage.png", "not a supported image")]
    public void Bad_images_fail_with_one_line(string file, string problem)
    {
        var (code, _, err) = Run("preprocess", Image(file), "--preset", "timm", "--out", Out("bad.safetensors"));
        Assert.Equal(CliApp.Failure, code);
        Assert.StartsWith($"vitsharp: error: Cannot read image '{Image(file)}': {problem}", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists(Out("bad.safetensors")));
    }

    [Theory]
    [InlineData("unknown preprocessing preset 'pil'", "--preset", "pil")]
    [InlineData("token budget applies to the 'native' preset only", "--preset", "timm", "--max-tokens", "10")]
    [InlineData("1 or 3 input channels", "--preset", "resize", "--channels", "2")]
    [InlineData("at most one of --arch", "--preset", "timm", "--arch", "vit_tiny_patch16_224", "--config", "x.json")]
    public void Bad_options_fail_with_one_line(string message, params string[] options)
    {
        var (code, _, err) = Run(["preprocess", Image("chelsea.png"), .. options, "--out", Out("o.safetensors")]);
        Assert.Equal(CliApp.Failure, code);
        Assert.Contains(message, err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
