using System.Text;
using System.Text.Json.Nodes;
using VitSharp.Imaging;
using VitSharp.Models;
using VitSharp.PosEmbed;
using static TorchSharp.torch;

namespace VitSharp.Tests.Imaging;

/// <summary>
/// VitSharp's preprocessing against torchvision + PIL (tests/fixtures/images, tools/fixtures/generate_image_fixtures.py).
/// Errors are in 1/255 units of the image before normalisation, i.e. uint8 levels.
/// </summary>
public class ImageParityTests
{
    /// <summary>
    /// Largest |difference| in uint8 levels: 0 (measured 0 for every case, docs/imaging.md) for lossless formats; 1 for
    /// JPEG and WebP, whose decoders are separate builds (Skia's bundled libjpeg-turbo / libwebp, the system's under
    /// PIL) that may round one level apart on other platforms, although they agree here.
    /// </summary>
    private static int MaxLevelsFor(string file) => file.EndsWith(".jpg", StringComparison.Ordinal) || file.EndsWith(".webp", StringComparison.Ordinal) ? 1 : 0;

    /// <summary>Largest mean |difference| in uint8 levels per case (measured 0).</summary>
    private const double MeanLevels = 0.02;

    private static JsonArray Cases => Fixtures.Json("images", "manifest.json")["cases"]!.AsArray();

    private static IEnumerable<string> Ids => Cases.Select(c => c!["id"]!.GetValue<string>());

    public static TheoryData<string> CaseIds => [.. Ids];

    internal sealed record Measurement(string Id, string Preset, string File, int Width, int Height, int MaxLevels, double MeanLevels, double NormalisedError);

    internal static JsonNode Case(string id) => Cases.Single(c => c!["id"]!.GetValue<string>() == id)!;

    internal static ImagePreprocessing PreprocessingOf(JsonNode c)
    {
        var config = new VitConfig
        {
            ImgSize = GridSize.Square(c["img_size"]!.GetValue<int>()),
            PatchSize = c["patch_size"]!.GetValue<int>(),
            InChans = c["channels"]!.GetValue<int>(),
        };
        return ImagePreprocessing.ForModel(c["preset"]!.GetValue<string>(), config, c["max_tokens"]?.GetValue<int>());
    }

    /// <summary>Runs one case: uint8 differences against PIL's pixels, and the normalised tensor's error against torchvision's where stored.</summary>
    internal static Measurement Measure(string id)
    {
        var c = Case(id);
        var prep = PreprocessingOf(c);
        using var bitmap = ImageFile.Load(Fixtures.Path_("images", c["file"]!.GetValue<string>()));
        var size = prep.OutputSize(bitmap.Width, bitmap.Height);
        Assert.Equal((c["output_size"]![0]!.GetValue<int>(), c["output_size"]![1]!.GetValue<int>()), size);

        using var scope = NewDisposeScope();
        using var file = Fixtures.Tensors("images", "expected.safetensors");
        var expected = file.Get(c["pixels"]!.GetValue<string>());
        var pixels = prep.PreparePixels(bitmap);
        var actual = tensor(pixels.Data, [pixels.Height, pixels.Width, pixels.Channels]).permute(2, 0, 1);
        Assert.Equal(expected.shape, actual.shape);
        var diff = (actual.to(ScalarType.Int32) - expected.to(ScalarType.Int32)).abs();
        int max = diff.max().item<int>();
        double mean = diff.to(ScalarType.Float64).mean().item<double>();

        double normalisedError = 0;
        if (c["tensor"]?.GetValue<string>() is { } tensorKey)
            normalisedError = Fixtures.MaxAbsDiff(prep.Prepare(bitmap), file.Get(tensorKey));
        return new Measurement(id, c["preset"]!.GetValue<string>(), c["file"]!.GetValue<string>(), size.Width, size.Height, max, mean, normalisedError);
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Matches_torchvision_on_PIL(string id)
    {
        var m = Measure(id);
        Assert.True(m.MaxLevels <= MaxLevelsFor(m.File), $"{id}: max |difference| {m.MaxLevels}/255 > {MaxLevelsFor(m.File)}/255");
        Assert.True(m.MeanLevels <= MeanLevels, $"{id}: mean |difference| {m.MeanLevels:F4}/255 > {MeanLevels}/255");
        // Where PIL's pixels are matched exactly, ToTensor + Normalize must agree with torchvision to float32 rounding.
        if (m.MaxLevels == 0) Assert.True(m.NormalisedError <= 1e-6, $"{id}: normalised tensor differs by {m.NormalisedError:E2}");
    }

    [Fact]
    public void Prepare_normalises_the_prepared_pixels_channel_first()
    {
        var c = Case("chelsea_png.timm224");
        var prep = PreprocessingOf(c);
        using var bitmap = ImageFile.Load(Fixtures.Path_("images", "chelsea.png"));
        using var scope = NewDisposeScope();
        var pixels = prep.PreparePixels(bitmap);
        var hwc = tensor(pixels.Data, [pixels.Height, pixels.Width, 3]).permute(2, 0, 1).to(ScalarType.Float32) / 255f;
        var expected = (hwc - tensor(prep.Mean).view(3, 1, 1)) / tensor(prep.Std).view(3, 1, 1);
        Fixtures.AssertClose(prep.Prepare(bitmap), expected, "Prepare vs its own pixels", 1e-6);
    }

    /// <summary>
    /// Writes the parity table of docs/imaging.md when <c>VITSHARP_IMAGE_PARITY_REPORT</c> names a file:
    /// <c>VITSHARP_IMAGE_PARITY_REPORT=$PWD/imaging-parity.md ./test.sh --filter ImageParityTests</c>.
    /// </summary>
    [Fact]
    public void Parity_report()
    {
        var rows = Ids.Select(Measure).ToList();
        var text = new StringBuilder("| preset | cases | max \\|diff\\| (levels) | mean \\|diff\\| (levels, worst case) | cases exact |\n| --- | --- | --- | --- | --- |\n");
        foreach (var g in rows.GroupBy(r => r.Preset + (r.Id.EndsWith(".gray", StringComparison.Ordinal) ? " (1 channel)" : "")))
            text.AppendLine($"| {g.Key} | {g.Count()} | {g.Max(r => r.MaxLevels)} | {g.Max(r => r.MeanLevels):F4} | {g.Count(r => r.MaxLevels == 0)} |");
        text.AppendLine().AppendLine("| case | file | output | max | mean |").AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var r in rows)
            text.AppendLine($"| {r.Id} | {r.File} | {r.Width}x{r.Height} | {r.MaxLevels} | {r.MeanLevels:F4} |");
        if (Environment.GetEnvironmentVariable("VITSHARP_IMAGE_PARITY_REPORT") is { Length: > 0 } path)
            File.WriteAllText(path, text.ToString());
        Assert.All(rows, r => Assert.True(r.MaxLevels <= MaxLevelsFor(r.File), r.Id));
    }
}
