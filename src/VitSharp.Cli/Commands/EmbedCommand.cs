using System.CommandLine;
using System.Text.Json.Nodes;
using VitSharp.Inference;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp embed</c>: the pre-logits features of each image into one file, rows in input order, with the list
/// of files. Files that cannot be read are reported and left out; the output is written once, atomically, after
/// the run. Exit codes as <c>classify</c>.
/// </summary>
internal static class EmbedCommand
{
    public static Command Create(TextWriter output)
    {
        var run = new ImageRunOptions();
        var outPath = new Option<string>("--out") { Description = "output: F.safetensors (tensor 'features' [N, D], metadata 'files') or F.npy (float32 [N, D], plus F.files.txt)", Required = true };

        var command = new Command("embed", "Write the features of images (pooled or class token, before the head) to safetensors or .npy.");
        run.AddTo(command);
        command.Options.Add(outPath);
        command.SetAction(r =>
        {
            string path = r.GetValue(outPath)!;
            if (!EmbeddingFile.IsSupported(path)) throw new ArgumentException($"--out '{path}' must end in .safetensors or .npy");
            CliInputs.RequireOutputFolder(path);
            bool json = r.GetValue(run.Json);
            var files = run.Files(r);
            string?[] inputs = [.. files, run.Weights(r)];
            CliInputs.RequireNotAnInput(path, inputs);
            if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) CliInputs.RequireNotAnInput(EmbeddingFile.FilesSidecar(path), inputs);
            var batch = run.Batch(r);

            CliApp.RequireTorch();
            using var extractor = new FeatureExtractor(run.Weights(r), run.Inference(r));
            var rows = new List<float[]>();
            var embedded = new List<string>();
            int failed = 0;
            FileProgress.Run(r.InvocationConfiguration.Error, files.Count, "embed", resultsOffScreen: !json, progress =>
            {
                foreach (var result in extractor.EmbedMany(files, batch))
                {
                    if (result.Succeeded)
                    {
                        rows.Add(result.Value!);
                        embedded.Add(result.Path);
                    }
                    else
                    {
                        failed++;
                        progress.Problem(ImageRunOptions.Problem(result));
                    }
                    if (json) output.WriteLine(Json(result, embedded.Count - 1));
                    progress.Advance();
                }
            });

            if (rows.Count == 0)
            {
                r.InvocationConfiguration.Error.WriteLine($"vitsharp: no image could be read; '{path}' was not written");
                return ImageRunOptions.SomeFilesFailed;
            }
            using (var features = tensor(rows.SelectMany(row => row).ToArray(), [rows.Count, extractor.Dimension]))
                EmbeddingFile.Write(path, features, embedded);
            if (!json) output.WriteLine($"wrote {path}: {rows.Count} x {extractor.Dimension} features" + (failed > 0 ? $"; {failed} file(s) failed" : ""));
            return failed == 0 ? 0 : ImageRunOptions.SomeFilesFailed;
        });
        return command;
    }

    /// <summary>One JSON line per file: its row in the output, or its error.</summary>
    private static string Json(FileResult<float[]> result, int row)
    {
        var line = new JsonObject { ["file"] = result.Path };
        if (result.Succeeded) line["row"] = row;
        else line["error"] = result.Error;
        return line.ToJsonString();
    }
}
