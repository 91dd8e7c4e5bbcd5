using System.Text;
using Xunit.Abstractions;
using VitSharp.Tests.Models;
using VitSharp.Tests.PosEmbed;

namespace VitSharp.Tests;

/// <summary>
/// Measures every fixture's max |error| in one table. Set <c>VITSHARP_PARITY_REPORT</c> to a file path to write it
/// (docs/parity.md is made with <c>VITSHARP_PARITY_REPORT=$PWD/docs/parity.md ./test.sh --filter ParityReport</c>).
/// </summary>
public class ParityReport(ITestOutputHelper output)
{
    [Fact]
    public void All_fixtures_within_tolerance()
    {
        var rows = new List<(string Kind, string Case, string Semantics, double Error)>();
        using (var file = Fixtures.Tensors("posembed", "cases.safetensors"))
        {
            foreach (var c in Fixtures.Json("posembed", "cases.json").AsArray())
            {
                var (from, to) = (PosEmbedFixtureTests.Grid(c!["old_grid"]), PosEmbedFixtureTests.Grid(c["new_grid"]));
                rows.Add(("posembed", $"{c["id"]} ({from}→{to}, prefix {c["prefix_tokens"]})",
                    PosEmbedFixtureTests.SemanticsOf(c).ToString(), PosEmbedFixtureTests.MeasureError(c, file)));
            }
        }

        foreach (string path in Directory.GetFiles(Fixtures.Path_("models"), "*.json").Order())
        {
            string name = Path.GetFileNameWithoutExtension(path);
            var json = Fixtures.Json("models", $"{name}.json");
            using var model = ModelParityTests.LoadModel(name);
            using var io = Fixtures.Tensors("models", $"{name}.io.safetensors");
            foreach (var size in json["sizes"]!.AsArray())
            {
                string s = $"{size![0]}x{size[1]}";
                var errors = ModelParityTests.MeasureErrors(name, model, io, s);
                rows.Add(("model", $"{name} at {s} ({string.Join(", ", errors.Keys)})", json["posembed_style"]!.GetValue<string>(), errors.Values.Max()));
            }
        }

        var manifest = Fixtures.Json("checkpoints", "manifest.json");
        foreach (var c in manifest["cases"]!.AsArray().Select(c => c!).Where(c => c["expect"]!.GetValue<string>() == "ok"))
        {
            using var loaded = VitSharp.Checkpoints.CheckpointLoader.Load(Checkpoints.CheckpointFamilyTests.PathOf(c), Checkpoints.CheckpointFamilyTests.OptionsFor(c));
            var errors = Checkpoints.CheckpointFamilyTests.MeasureErrors(c, loaded);
            rows.Add(("checkpoint", $"{c["id"]}: {c["family"]} {c["format"]} ({c["file"]}) at {string.Join(", ", errors.Keys)}",
                loaded.Model.PosEmbedResampling.Name, errors.Values.Max()));
        }

        var text = new StringBuilder();
        text.AppendLine("# Parity with PyTorch");
        text.AppendLine();
        text.AppendLine($"Max |error| of VitSharp against the fixtures made by real PyTorch 1.13 (tools/fixtures), float32, tolerance {Fixtures.Tolerance:0e0}.");
        text.AppendLine("Model rows take the max over every output listed. Regenerate with");
        text.AppendLine("`VITSHARP_PARITY_REPORT=$PWD/docs/parity.md ./test.sh --filter ParityReport`.");
        text.AppendLine();
        text.AppendLine("| kind | case | semantics | max abs error |");
        text.AppendLine("|---|---|---|---|");
        foreach (var r in rows) text.AppendLine($"| {r.Kind} | {r.Case} | {r.Semantics} | {r.Error:0.00e0} |");
        text.AppendLine();
        text.AppendLine($"Worst: posembed {rows.Where(r => r.Kind == "posembed").Max(r => r.Error):0.00e0}, models {rows.Where(r => r.Kind == "model").Max(r => r.Error):0.00e0}, " +
            $"checkpoints {rows.Where(r => r.Kind == "checkpoint").Max(r => r.Error):0.00e0} over {rows.Count} cases.");
        text.AppendLine();
        text.AppendLine("Checkpoint rows load the same tiny ViT written by PyTorch under each family's naming and file format");
        text.AppendLine("(tests/fixtures/checkpoints, tools/fixtures/generate_checkpoints.py) through `CheckpointLoader` and compare with");
        text.AppendLine("that family's own PyTorch forward at 32x32 and at a non-square size (torchvision: 24x24 and 40x40, as it takes only squares).");
        text.AppendLine("F16 and BF16 rows compare with PyTorch run on the same rounded weights.");
        output.WriteLine(text.ToString());
        if (Environment.GetEnvironmentVariable("VITSHARP_PARITY_REPORT") is { Length: > 0 } target) File.WriteAllText(target, text.ToString());

        Assert.All(rows, r => Assert.True(r.Error <= Fixtures.Tolerance, $"{r.Case}: {r.Error:E3}"));
    }
}
