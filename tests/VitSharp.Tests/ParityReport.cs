using System.Text;
using Xunit.Abstractions;
using VitSharp.PosEmbed;
using VitSharp.Tests.Models;
using VitSharp.Tests.PosEmbed;
using static TorchSharp.torch;

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
        var cases = Fixtures.Json("posembed", "cases.json").AsArray();
        using (var file = Fixtures.Tensors("posembed", "cases.safetensors"))
        {
            foreach (var c in cases)
            {
                string id = c!["id"]!.GetValue<string>();
                var how = PosEmbedFixtureTests.SemanticsOf(c);
                static GridSize G(System.Text.Json.Nodes.JsonNode? p) => new(p![0]!.GetValue<int>(), p[1]!.GetValue<int>());
                using var actual = PosEmbedResampler.Resample(file.Get($"{id}.input"), G(c["old_grid"]), G(c["new_grid"]), c["prefix_tokens"]!.GetValue<int>(), how, G(c["image"]));
                rows.Add(("posembed", $"{id} ({G(c["old_grid"])}→{G(c["new_grid"])}, prefix {c["prefix_tokens"]})", how.ToString(), Fixtures.MaxAbsDiff(actual, file.Get($"{id}.expected"))));
            }
        }

        foreach (string path in Directory.GetFiles(Fixtures.Path_("models"), "*.json").Order())
        {
            string name = Path.GetFileNameWithoutExtension(path);
            var json = Fixtures.Json("models", $"{name}.json");
            var outputs = json["outputs"]!.AsArray().Select(o => o!.GetValue<string>()).ToHashSet();
            using var model = ModelParityTests.LoadModel(name);
            using var io = Fixtures.Tensors("models", $"{name}.io.safetensors");
            foreach (var size in json["sizes"]!.AsArray())
            {
                string s = $"{size![0]}x{size[1]}";
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                var (features, attention) = model.ForwardFeaturesWithAttention(io.Get($"input.{s}"));
                double error = 0;
                if (outputs.Contains("logits")) error = Math.Max(error, Fixtures.MaxAbsDiff(model.ForwardHead(features), io.Get($"logits.{s}")));
                if (outputs.Contains("cls_features")) error = Math.Max(error, Fixtures.MaxAbsDiff(model.ForwardHead(features, preLogits: true), io.Get($"cls_features.{s}")));
                if (outputs.Contains("last_selfattention")) error = Math.Max(error, Fixtures.MaxAbsDiff(attention, io.Get($"last_selfattention.{s}")));
                if (outputs.Contains("intermediate")) error = Math.Max(error, Fixtures.MaxAbsDiff(stack(model.GetIntermediateLayers(io.Get($"input.{s}"), 2)), io.Get($"intermediate.{s}")));
                rows.Add(("model", $"{name} at {s} ({string.Join(", ", outputs.Where(o => o != "input"))})", json["posembed_style"]!.GetValue<string>(), error));
            }
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
        text.AppendLine($"Worst: posembed {rows.Where(r => r.Kind == "posembed").Max(r => r.Error):0.00e0}, models {rows.Where(r => r.Kind == "model").Max(r => r.Error):0.00e0} over {rows.Count} cases.");
        output.WriteLine(text.ToString());
        if (Environment.GetEnvironmentVariable("VITSHARP_PARITY_REPORT") is { Length: > 0 } target) File.WriteAllText(target, text.ToString());

        Assert.All(rows, r => Assert.True(r.Error <= Fixtures.Tolerance, $"{r.Case}: {r.Error:E3}"));
    }
}
