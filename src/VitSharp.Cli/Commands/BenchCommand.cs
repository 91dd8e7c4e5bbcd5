using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using TorchSharp;
using VitSharp.Benchmarking;
using VitSharp.Checkpoints;
using VitSharp.Models;
using VitSharp.Kernels;
using VitSharp.PosEmbed;
using VitSharp.Registry;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>
/// <c>vitsharp bench</c>: inference throughput (images/s), latency (p50/p95) and achieved GFLOP/s of a registered
/// architecture (random weights: speed does not depend on the values) or of a checkpoint, for every combination of
/// the sizes, batch sizes and precisions asked for.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(TextWriter output)
    {
        var weights = new Option<string?>("--weights") { Description = "a checkpoint to time (default: random weights of --arch)" };
        var sizes = new Option<string[]>("--size") { Description = "input sizes, N or HxW (default: the model's own)", AllowMultipleArgumentsPerToken = true };
        var batches = new Option<int[]>("--batch") { Description = "batch sizes", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [1, 8] };
        var dtypes = new Option<string[]>("--dtype") { Description = "fp32 and/or bf16 (bf16: weights converted once; fast on CPUs with AMX or AVX-512-BF16)", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => ["fp32"] };
        var threads = new Option<int?>("--threads") { Description = "intra-op threads (default: libtorch's, one per core)" };
        var warmup = new Option<int>("--warmup") { Description = "untimed passes before timing, at least", DefaultValueFactory = _ => 3 };
        var warmupSeconds = new Option<double>("--warmup-seconds") { Description = "untimed warm-up for at least this long (the runtime's background recompilation slows the first seconds)", DefaultValueFactory = _ => 5 };
        var iterations = new Option<int>("--iterations") { Description = "timed passes at least", DefaultValueFactory = _ => 10 };
        var seconds = new Option<double>("--seconds") { Description = "time each configuration for at least this long", DefaultValueFactory = _ => 3 };
        var device = new Option<string>("--device") { Description = "cpu or cuda (a CUDA build of libtorch must be referenced)", DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "one JSON object per configuration instead of the table" };
        var attention = new Option<string[]>("--attention") { Description = "one or more of: " + CliInputs.AttentionKernelHelp, AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => ["auto"] };
        var linear = new Option<string[]>("--linear") { Description = "one or more of: " + CliInputs.LinearKernelHelp, AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => ["auto"] };
        var pack = new Option<string[]>("--pack") { Description = "on and/or off: the linear layers' weights packed once for oneDNN (float32 on x86-64 CPUs; as classify and embed run)", AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => ["on"] };
        var check = new Option<string?>("--check") { Description = "a safetensors file with 'input' [B, C, H, W] and 'logits' from PyTorch: at that input's size, each configuration's logits must match them within 1e-3 of their largest magnitude (5 % in bf16) before it is timed" };
        var profile = new Option<bool>("--profile") { Description = "also show where the time of one forward pass goes, layer kind by layer kind" };
        var checkpoint = new CheckpointOptions();

        var command = new Command("bench", "Inference throughput, latency and GFLOP/s of an architecture or checkpoint at given sizes, batches and precisions.")
        {
            weights, sizes, batches, dtypes, attention, linear, pack, threads, warmup, warmupSeconds, iterations, seconds, device, json, profile, check,
        };
        checkpoint.AddTo(command);
        command.SetAction(r =>
        {
            var dtypeList = r.GetValue(dtypes)!.Select(CliInputs.ParseDType).Distinct().ToList();
            var batchList = r.GetValue(batches)!.Distinct().ToList();
            var kernelList = r.GetValue(attention)!.Select(CliInputs.ParseAttentionKernel).Distinct().ToList();
            var linearList = r.GetValue(linear)!.Select(CliInputs.ParseLinearKernel).Distinct().ToList();
            var packList = r.GetValue(pack)!.Select(ParseOnOff).Distinct().ToList();
            if (batchList.Count == 0 || batchList.Any(b => b < 1)) throw new ArgumentException("--batch needs positive batch sizes");
            if (r.GetValue(warmup) < 0 || r.GetValue(warmupSeconds) < 0 || r.GetValue(iterations) < 1 || r.GetValue(seconds) < 0)
                throw new ArgumentException("--warmup and --warmup-seconds must be >= 0, --iterations >= 1 and --seconds >= 0");
            string? weightsPath = r.GetValue(weights);
            string? archName = checkpoint.ArchName(r);
            if (weightsPath is null && archName is null) throw new ArgumentException("give --arch NAME (random weights) or --weights CHECKPOINT");

            CliApp.RequireTorch();
            if (r.GetValue(threads) is { } n)
            {
                SizeLimits.CheckThreads(n, "--threads");
                set_num_threads(n);
            }
            var dev = new Device(r.GetValue(device)!);
            if (dtypeList.Contains(ScalarType.BFloat16)) CliInputs.WarnIfSlowBf16(r.InvocationConfiguration.Error, ScalarType.BFloat16, dev.type);
            var (model, label, loaded) = Build(r, checkpoint, weightsPath, archName, dev);
            using var _ = loaded;
            using var __ = loaded is null ? model : null;

            var sizeList = r.GetValue(sizes) is { Length: > 0 } given ? given.Select(GridSize.Parse).Distinct().ToList() : [model.Config.ImgSize];
            foreach (var size in sizeList) model.PatchEmbed.GridFor(size); // refuse a bad size before timing anything

            using var peerCheck = r.GetValue(check) is { } checkPath ? PeerCheck.Read(checkPath, dev) : null;
            if (!r.GetValue(json)) WriteHeader(output, label, dev);
            foreach (var dtype in dtypeList)
            {
                if (model.PosEmbedParameter.dtype != dtype) model.to(dtype);
                foreach (bool packed in packList)
                {
                    // Where packing does not apply (bf16 without its instructions, another CPU), "on" times the unpacked model and says so.
                    int packedLayers = packed ? model.PackLinearWeights() : 0;
                    if (!packed) model.UnpackLinearWeights();
                    foreach (var kernel in kernelList)
                        foreach (var linearKernel in linearList)
                        {
                            model.AttentionKernel = kernel;
                            model.LinearKernel = linearKernel;
                            var setting = new KernelSetting(kernel, linearKernel, packedLayers);
                            foreach (var size in sizeList)
                                foreach (int batch in batchList)
                                {
                                    double? pytorchError = peerCheck?.Size == size ? peerCheck.Compare(model, dtype, $"{size} {CliInputs.DTypeName(dtype)} {AttentionName(kernel)} attention, {LinearName(linearKernel)} linear") : null;
                                    var result = InferenceBenchmark.Run(model, new InferenceBenchmarkCase(size, batch, dtype, r.GetValue(warmup), r.GetValue(iterations), r.GetValue(seconds), r.GetValue(warmupSeconds)), dev);
                                    output.WriteLine(r.GetValue(json) ? Json(result, label, dev, weightsPath, setting, pytorchError) : Row(result, setting));
                                    if (r.GetValue(profile)) WriteProfile(output, ForwardProfile.Measure(model, size, batch, dtype, passes: Math.Max(3, result.Iterations)));
                                }
                        }
                }
                model.UnpackLinearWeights();
            }
            return 0;
        });
        return command;
    }

    private static (VisionTransformer Model, string Label, LoadedCheckpoint? Loaded) Build(ParseResult r, CheckpointOptions checkpoint, string? weightsPath, string? archName, Device device)
    {
        if (weightsPath is null)
        {
            var model = VitRegistry.Create(archName!);
            model.to(device);
            return (model, archName!, null);
        }
        CliInputs.RequireFile(weightsPath, "checkpoint");
        var loaded = CheckpointLoader.Load(weightsPath, checkpoint.Read(r) with { Device = device });
        return (loaded.Model, archName ?? Path.GetFileName(weightsPath), loaded);
    }

    /// <summary>The kernels a row was timed with, and how many linear layers ran from packed weights (0: none).</summary>
    private sealed record KernelSetting(AttentionKernel Attention, LinearKernel Linear, int PackedLayers);

    private static bool ParseOnOff(string text) => text.ToLowerInvariant() switch
    {
        "on" => true,
        "off" => false,
        _ => throw new ArgumentException($"--pack '{text}' is not supported; expected on or off"),
    };

    private static string AttentionName(AttentionKernel kernel) => kernel.ToString().ToLowerInvariant();

    private static string LinearName(LinearKernel kernel) => kernel.ToString().ToLowerInvariant();

    private static void WriteHeader(TextWriter output, string label, Device device)
    {
        output.WriteLine($"{label} on {device}, {get_num_threads()} threads; forward passes in inference mode, random input, each configuration checked against libtorch's reference path first");
        output.WriteLine($"{"size",-9} {"batch",5} {"dtype",5} {"attn",6} {"linear",6} {"pack",4} {"images/s",10} {"p50 ms",9} {"p95 ms",9} {"GFLOP/s",8} {"passes",6}");
    }

    private static void WriteProfile(TextWriter output, IReadOnlyList<ProfilePart> parts)
    {
        output.WriteLine($"  {"where the time goes",-66} {"ms/pass",9} {"share",7} {"GFLOP/s",8}");
        foreach (var p in parts)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {p.Part,-66} {p.Milliseconds,9:F2} {p.Share,7:P1} {(p.Gflops is { } g ? g.ToString("F1", CultureInfo.InvariantCulture) : "-"),8}"));
    }

    private static string Row(InferenceBenchmarkResult r, KernelSetting setting) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Case.Size,-9} {r.Case.Batch,5} {CliInputs.DTypeName(r.Case.DType),5} {AttentionName(setting.Attention),6} {LinearName(setting.Linear),6} {(setting.PackedLayers > 0 ? "on" : "off"),4} {r.ImagesPerSecond,10:F2} {r.P50Ms,9:F2} {r.P95Ms,9:F2} {r.Gflops,8:F1} {r.Iterations,6}");

    private static string Json(InferenceBenchmarkResult r, string label, Device device, string? weightsPath, KernelSetting setting, double? pytorchError) => new JsonObject
    {
        ["arch"] = label,
        ["weights"] = weightsPath,
        ["size"] = r.Case.Size.ToString(),
        ["batch"] = r.Case.Batch,
        ["dtype"] = CliInputs.DTypeName(r.Case.DType),
        ["attention"] = AttentionName(setting.Attention),
        ["linear"] = LinearName(setting.Linear),
        ["packed_layers"] = setting.PackedLayers,
        ["threads"] = get_num_threads(),
        ["device"] = device.ToString(),
        ["images_per_s"] = Math.Round(r.ImagesPerSecond, 3),
        ["p50_ms"] = Math.Round(r.P50Ms, 3),
        ["p95_ms"] = Math.Round(r.P95Ms, 3),
        ["gflops"] = Math.Round(r.Gflops, 2),
        ["gflop_per_image"] = Math.Round(r.FlopsPerImage / 1e9, 4),
        ["iterations"] = r.Iterations,
        ["reference_max_error"] = r.Check.MaxError,
        ["reference_tolerance"] = r.Check.Tolerance,
        ["kernel_check_ms"] = Math.Round(r.Check.KernelCheckMs, 2),
        ["pytorch_max_error"] = pytorchError,
    }.ToJsonString();

    /// <summary>PyTorch's input and logits for one size (bench/compare writes them), which each configuration must reproduce before it is timed.</summary>
    private sealed class PeerCheck : IDisposable
    {
        private readonly Tensor input, logits;

        private PeerCheck(Tensor input, Tensor logits)
        {
            this.input = input;
            this.logits = logits;
            Size = new GridSize(checked((int)input.shape[2]), checked((int)input.shape[3]));
        }

        public GridSize Size { get; }

        public static PeerCheck Read(string path, Device device)
        {
            CliInputs.RequireFile(path, "check file");
            using var file = VitSharp.IO.SafeTensors.Read(path);
            if (!file.Contains("input") || !file.Contains("logits")) throw new ArgumentException($"{path}: a check file holds 'input' and 'logits'");
            var input = file.Get("input").to(ScalarType.Float32).to(device).DetachFromDisposeScope();
            var logits = file.Get("logits").to(ScalarType.Float32).DetachFromDisposeScope();
            if (input.dim() != 4 || logits.dim() != 2 || logits.shape[0] != input.shape[0])
                throw new ArgumentException($"{path}: 'input' must be [B, C, H, W] and 'logits' [B, classes], not {CliInputs.Shape(input)} and {CliInputs.Shape(logits)}");
            return new PeerCheck(input, logits);
        }

        /// <summary>The largest difference from PyTorch's logits; throws where it is beyond the tolerance.</summary>
        public double Compare(VisionTransformer model, ScalarType dtype, string configuration)
        {
            using var scope = NewDisposeScope();
            using var _ = inference_mode();
            model.eval();
            var actual = model.call(input.to(dtype)).to(ScalarType.Float32).cpu();
            if (!actual.shape.SequenceEqual(logits.shape))
                throw new InvalidOperationException($"the model's logits are {CliInputs.Shape(actual)}, PyTorch's check logits {CliInputs.Shape(logits)}");
            double error = (actual - logits).abs().max().item<float>();
            double tolerance = (dtype == ScalarType.Float32 ? 1e-3 : 0.05) * logits.abs().max().item<float>();
            if (!(error <= tolerance))
                throw new InvalidOperationException($"{configuration}: the logits differ from PyTorch's by {error:g3} (allowed {tolerance:g3}); not timed");
            return error;
        }

        public void Dispose()
        {
            input.Dispose();
            logits.Dispose();
        }
    }
}
