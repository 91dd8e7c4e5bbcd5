using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using VitSharp.Inference;
using VitSharp.Labels;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp classify</c>: the top-k classes of each image, as text blocks or JSON Lines. Exit code 0 when
/// every file was classified, 3 when some could not be read (each reported on stderr), 1 on a usage or model error.
/// </summary>
internal static class ClassifyCommand
{
    public static Command Create(TextWriter output)
    {
        var run = new ImageRunOptions();
        var topK = new Option<int>("--top-k") { Description = "classes shown per image", DefaultValueFactory = _ => 5 };
        var labels = new Option<string?>("--labels") { Description = "class names: one per line, or a JSON list (default: the checkpoint's, ImageNet-1k for 1000 classes, else 'class N')" };

        var command = new Command("classify", "Classify images with a ViT checkpoint: top-k labels and probabilities per image.");
        run.AddTo(command);
        command.Options.Add(topK);
        command.Options.Add(labels);
        command.SetAction(r =>
        {
            int k = r.GetValue(topK);
            if (k < 1) throw new ArgumentException($"--top-k must be at least 1, got {k}");
            bool json = r.GetValue(run.Json);
            var files = run.Files(r);
            var batch = run.Batch(r);
            var names = r.GetValue(labels) is { } labelsPath ? ReadLabels(labelsPath) : null;

            CliApp.RequireTorch();
            using var classifier = new ImageClassifier(run.Weights(r), names, run.Inference(r));
            int failed = 0;
            FileProgress.Run(r.InvocationConfiguration.Error, files.Count, "classify", resultsOffScreen: !json && FileProgress.IsOffScreen(output), progress =>
            {
                foreach (var result in classifier.ClassifyMany(files, k, batch))
                {
                    if (!result.Succeeded)
                    {
                        failed++;
                        progress.Problem(ImageRunOptions.Problem(result));
                    }
                    if (json) output.WriteLine(Json(result));
                    else if (result.Succeeded) WriteText(output, result.Path, result.Value!);
                    progress.Advance();
                }
            });
            return failed == 0 ? 0 : ImageRunOptions.SomeFilesFailed;
        });
        return command;
    }

    private static IReadOnlyList<string> ReadLabels(string path)
    {
        CliInputs.RequireFile(path, "labels file");
        return ClassLabels.ReadFile(path);
    }

    private static void WriteText(TextWriter output, string path, IReadOnlyList<Prediction> predictions)
    {
        output.WriteLine(path);
        foreach (var p in predictions)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {p.Probability * 100,6:F2}%  {p.Label} [{p.Index}]"));
        output.WriteLine();
    }

    private static string Json(FileResult<IReadOnlyList<Prediction>> result)
    {
        var line = new JsonObject { ["file"] = result.Path };
        if (result.Succeeded)
        {
            line["predictions"] = new JsonArray([.. result.Value!.Select(p => new JsonObject
            {
                ["label"] = p.Label,
                ["index"] = p.Index,
                ["probability"] = p.Probability,
            })]);
        }
        else
        {
            line["error"] = result.Error;
        }
        return line.ToJsonString();
    }
}
