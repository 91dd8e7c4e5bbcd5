using System.CommandLine;
using System.Diagnostics;
using VitSharp.PosEmbed;
using VitSharp.Registry;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp demo</c>: the README's main job. Builds a ViT trained for one size and runs it at several
/// resolutions, square and not, printing the token grid, output shape, the first call (which resamples the table) and the median of three more, then shows how much the
/// resampling families disagree on the same table.
/// </summary>
internal static class DemoCommand
{
    public static Command Create(TextWriter output)
    {
        var arch = new Option<string>("--arch") { Description = "architecture to build", DefaultValueFactory = _ => "vit_small_patch16_224" };
        var sizes = new Option<string[]>("--sizes") { Description = "input sizes HxW", DefaultValueFactory = _ => ["224x224", "320x480", "160x96"], AllowMultipleArgumentsPerToken = true };
        var batch = new Option<int>("--batch") { Description = "batch size", DefaultValueFactory = _ => 2 };
        var command = new Command("demo", "Run a ViT at several resolutions with resampled position embeddings.") { arch, sizes, batch };
        command.SetAction(r =>
        {
            CliApp.RequireTorch();
            manual_seed(0);
            using var model = VitRegistry.Create(r.GetValue(arch)!);
            model.eval();
            var c = model.Config;
            output.WriteLine($"{r.GetValue(arch)}: trained size {c.ImgSize}, patch {c.PatchSize}, grid {c.GridSize}, " +
                $"{model.parameters().Sum(p => p.numel()):N0} parameters (random init), {get_num_threads()} threads, position embeddings: {model.PosEmbedResampling}");
            output.WriteLine($"{"input",-10} {"grid",-7} {"tokens",6} {"output",-10} {"first ms",9} {"median ms",9}");

            int b = r.GetValue(batch);
            using (no_grad())
            {
                foreach (var size in r.GetValue(sizes)!.Select(GridSize.Parse))
                {
                    using var scope = NewDisposeScope();
                    var x = randn(b, c.InChans, size.Height, size.Width);
                    var grid = model.PatchEmbed.GridFor(size);
                    var watch = Stopwatch.StartNew();
                    var y = model.call(x); // the first call at a new grid resamples and caches the table
                    double first = watch.Elapsed.TotalMilliseconds;
                    double next = Enumerable.Range(0, 3).Select(_ =>
                    {
                        watch.Restart();
                        model.call(x).Dispose();
                        return watch.Elapsed.TotalMilliseconds;
                    }).Order().ElementAt(1);
                    output.WriteLine($"{size,-10} {grid,-7} {grid.Count + model.NumPrefixTokens,6} {CliInputs.Shape(y),-10} {first,9:F1} {next,9:F1}");
                }
            }

            // The same learned table, resampled to a non-square grid by each family: they do not agree.
            var target = new GridSize(c.GridSize.Height + 6, c.GridSize.Width + 16);
            using var table = model.PosEmbedParameter.detach();
            using var reference = PosEmbedResampler.Resample(table, c.GridSize, target, model.NumPrefixTokens, PosEmbedResampling.Timm);
            float scale = table.abs().max().item<float>();
            output.WriteLine($"pos_embed {c.GridSize} -> {target}: max |difference| from timm's semantics, relative to max |pos_embed|");
            foreach (var how in PosEmbedResampling.Presets.Where(p => p != PosEmbedResampling.Timm))
            {
                using var other = PosEmbedResampler.Resample(table, c.GridSize, target, model.NumPrefixTokens, how);
                output.WriteLine($"  {how.Name,-12} {(other - reference).abs().max().item<float>() / scale,8:P2}");
            }
            return 0;
        });
        return command;
    }
}
