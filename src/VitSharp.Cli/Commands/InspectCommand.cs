using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using VitSharp.Checkpoints;
using VitSharp.Models;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp inspect FILE</c>: what a checkpoint is, from its headers alone: format, family, wrapper, the
/// architecture it was trained with (and what was guessed), parameter count, dtypes, and every key or entry it
/// does not use.
/// </summary>
internal static class InspectCommand
{
    public static Command Create(TextWriter output)
    {
        var file = new Argument<string>("FILE") { Description = "a checkpoint file or hub folder" };
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of text" };
        var checkpoint = new CheckpointOptions();
        var command = new Command("inspect", "Describe a checkpoint: format, family, architecture, parameters, unused keys.") { file, json };
        checkpoint.AddTo(command);
        command.SetAction(r =>
        {
            CliApp.RequireTorch();
            var options = checkpoint.Read(r);
            var summary = CheckpointLoader.Inspect(r.GetValue(file)!, options);
            if (options.Configure is { } configure) summary = summary with { Architecture = configure(summary.Architecture) };
            output.WriteLine(r.GetValue(json) ? ToJson(summary) : ToText(summary));
            return 0;
        });
        return command;
    }

    private static string ToText(CheckpointSummary s)
    {
        var a = s.Architecture;
        var lines = new List<string>
        {
            $"file          {s.Path}",
            $"format        {s.Format}",
            $"family        {s.Family.Name()}" + (s.Wrapper is null ? "" : $" (weights under '{s.Wrapper}')") + (s.StrippedPrefixes.Count == 0 ? "" : $", prefixes removed: {string.Join(" ", s.StrippedPrefixes)}"),
            $"architecture  dim {a.EmbedDim}, depth {a.Depth}, heads {a.NumHeads}, patch {a.PatchSize}, mlp ratio {a.MlpRatio:0.###}, qkv bias {(a.QkvBias ? "yes" : "no")}, eps {a.LayerNormEps:G3}",
            $"input         {a.ImgSize} pixels, {a.InChans} channels, grid {a.GridSize}, {a.NumPrefixTokens} prefix tokens ({(a.ClassToken ? "class" : "no class")} token, {a.RegTokens} registers)" + (a.NoEmbedClass ? ", no position rows for prefix tokens" : ""),
            $"output        {(a.NumClasses > 0 ? $"{a.NumClasses} classes" : "features only (no classifier)")}, pooling {(a.GlobalPool == GlobalPool.Token ? "class token" : "average")}" + (a.InitValues is null ? "" : ", LayerScale"),
            $"resampling    {a.PosEmbedResampling.Name} at other input sizes",
            $"parameters    {s.ParameterCount:N0} ({string.Join(", ", s.DTypes.Select(d => $"{d.Value} tensors {d.Key}"))})",
        };
        if (a.ConvStem is { } stem)
            lines.Insert(4, $"patch embed   convolutional stem (hybrid): channels {string.Join("-", stem.Channels)}, strides {string.Join("-", stem.Strides)}, " +
                $"kernels {string.Join("-", stem.KernelSizes)}, {(stem.Activation == StemActivation.Relu ? "ReLU" : "GELU")}, {VitConfigJson.StemNormName(stem.Norm)}{(stem.Proj ? ", 1x1 projection" : "")}; a token every {a.PatchSize} pixels");
        if (s.HintsSource is not null) lines.Add($"config        {s.HintsSource}");
        if (s.Labels is { Count: > 0 } labels) lines.Add($"labels        {labels.Count}: {string.Join(", ", labels.Take(5))}{(labels.Count > 5 ? ", ..." : "")}");
        lines.AddRange(s.Guesses.Select(g => $"guessed       {g}"));
        lines.AddRange(s.Ignored.Select(i => $"ignored       {i}"));
        if (s.Unknown.Count > 0) lines.Add($"unknown keys  {string.Join(", ", s.Unknown)} (a strict load refuses them)");
        lines.AddRange(s.NonTensorEntries.Select(e => $"other entry   {e}"));
        return string.Join(Environment.NewLine, lines);
    }

    private static string ToJson(CheckpointSummary s)
    {
        var o = new JsonObject
        {
            ["file"] = s.Path,
            ["format"] = s.Format,
            ["family"] = s.Family.Name(),
            ["wrapper"] = s.Wrapper,
            ["stripped_prefixes"] = new JsonArray([.. s.StrippedPrefixes.Select(p => JsonValue.Create(p))]),
            ["config"] = JsonNode.Parse(VitConfigJson.Write(s.Architecture)),
            ["grid"] = s.Architecture.GridSize.ToString(),
            ["parameters"] = s.ParameterCount,
            ["dtypes"] = new JsonObject(s.DTypes.Select(d => KeyValuePair.Create(d.Key.ToString(), (JsonNode?)d.Value))),
            ["guessed"] = Strings(s.Guesses),
            ["ignored"] = Strings(s.Ignored),
            ["unknown_keys"] = Strings(s.Unknown),
            ["other_entries"] = Strings(s.NonTensorEntries),
            ["labels"] = s.Labels is null ? null : Strings(s.Labels),
            ["config_source"] = s.HintsSource,
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static JsonArray Strings(IEnumerable<string> items) => new([.. items.Select(i => JsonValue.Create(i))]);
}
