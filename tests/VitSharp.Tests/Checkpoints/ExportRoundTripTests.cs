using System.Text.Json.Nodes;
using VitSharp.Cli;

namespace VitSharp.Tests.Checkpoints;

/// <summary>
/// VitSharp → file → PyTorch. tools/fixtures/check_export.py converted checkpoints of other families with
/// <c>vitsharp convert</c>, loaded the results into a timm-named PyTorch ViT with <c>load_state_dict(strict=True)</c>
/// and got the original family's outputs (tests/fixtures/export/roundtrip.json). Converting again today must
/// reproduce those files exactly, so that PyTorch check still holds for this code.
/// </summary>
public sealed class ExportRoundTripTests : IDisposable
{
    private static readonly JsonNode RoundTrip = Fixtures.Json("export", "roundtrip.json");
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-export-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    public static TheoryData<string> Cases() => [.. RoundTrip["cases"]!.AsArray().Select(c => c!["id"]!.GetValue<string>())];

    [Fact]
    public void Pytorch_loaded_every_export_strictly_and_matched_the_original_family()
    {
        Assert.NotEmpty(Cases());
        double tolerance = RoundTrip["tolerance"]!.GetValue<double>();
        Assert.Equal(Fixtures.Tolerance, tolerance);
        foreach (var c in RoundTrip["cases"]!.AsArray())
            foreach (var (size, error) in c!["max_abs_error"]!.AsObject())
                Assert.True(error!.GetValue<double>() <= tolerance, $"{c["id"]} at {size}: {error}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Converting_again_reproduces_the_file_pytorch_checked(string id)
    {
        var c = RoundTrip["cases"]!.AsArray().Single(n => n!["id"]!.GetValue<string>() == id)!;
        string target = Path.Combine(work, $"{id}.safetensors");
        string[] args = ["convert", Fixtures.Path_("checkpoints", c["source"]!.GetValue<string>()), target,
            .. c["options"]!.AsArray().Select(o => o!.GetValue<string>())];
        int code = CliApp.Run(args, TextWriter.Null, TextWriter.Null);
        Assert.Equal(0, code);

        using var fresh = VitSharp.IO.SafeTensors.Read(target);
        using var committed = Fixtures.Tensors("export", c["export"]!.GetValue<string>());
        Assert.Equal(committed.Keys.Order(), fresh.Keys.Order());
        foreach (string key in committed.Keys)
        {
            Assert.Equal(committed.GetInfo(key).ScalarType, fresh.GetInfo(key).ScalarType);
            using var expected = committed.Get(key);
            using var actual = fresh.Get(key);
            Assert.True(expected.bytes.SequenceEqual(actual.bytes), $"{id}: {key} differs from the export PyTorch checked");
        }
        Assert.Equal(File.ReadAllText(Fixtures.Path_("export", c["config"]!.GetValue<string>())), File.ReadAllText(Path.Combine(work, $"{id}.json")));
    }
}
