using TorchSharp;
using VitSharp.IO;
using VitSharp.Kernels;
using static TorchSharp.torch;

namespace VitSharp.Cli.Commands;

/// <summary>Small helpers the commands share for reading their inputs.</summary>
internal static class CliInputs
{
    public static void RequireFile(string path, string what)
    {
        if (Directory.Exists(path)) throw new ArgumentException($"{what} '{path}' is a folder; give one file");
        if (!File.Exists(path)) throw new FileNotFoundException($"{what} '{path}' does not exist");
    }

    /// <summary>Refuses an output path whose folder does not exist, before any work is done.</summary>
    public static void RequireOutputFolder(string path)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"output folder '{folder}' does not exist");
    }

    /// <summary>
    /// Refuses an output that is one of the command's inputs: the same file under any name or link (by device and
    /// inode), so that no command writes over what it reads. Null inputs (options not given) are skipped.
    /// </summary>
    public static void RequireNotAnInput(string output, params string?[] inputs)
    {
        var target = VitSharp.IO.FileStatus.Of(output);
        // An output that does not exist yet is no existing input's file: only its path can match (embed names a million inputs).
        bool exists = target.Kind != VitSharp.IO.FileKind.Missing;
        string full = Path.GetFullPath(output);
        foreach (string? input in inputs)
        {
            if (input is null) continue;
            if (full == Path.GetFullPath(input) || (exists && target.SameAs(VitSharp.IO.FileStatus.Of(input))))
                throw new ArgumentException($"the output '{output}' is also an input ('{input}'); choose another output");
        }
    }

    /// <summary>Refuses an output file whose extension is not the format the command writes.</summary>
    public static void RequireExtension(string output, string extension, string what)
    {
        if (!output.EndsWith(extension, StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"--out '{output}' must end in {extension}: {what}");
    }

    /// <summary>One tensor of a safetensors file; the error lists the keys that are there.</summary>
    public static Tensor ReadTensor(string path, string key)
    {
        RequireFile(path, "input file");
        using var file = SafeTensors.Read(path);
        if (!file.Contains(key))
            throw new KeyNotFoundException($"'{path}' has no tensor '{key}'; it has {string.Join(", ", file.Keys.Take(10))}{(file.Count > 10 ? ", ..." : "")}");
        return file.Get(key);
    }

    /// <summary>A <c>--dtype</c> value: fp32 or bf16 (float32 and bfloat16 are accepted too).</summary>
    public static ScalarType ParseDType(string text) => text.ToLowerInvariant() switch
    {
        "fp32" or "float32" => ScalarType.Float32,
        "bf16" or "bfloat16" => ScalarType.BFloat16,
        _ => throw new ArgumentException($"--dtype '{text}' is not supported; expected fp32 or bf16"),
    };

    public static string DTypeName(ScalarType t) => t == ScalarType.BFloat16 ? "bf16" : "fp32";

    public const string DTypeHelp = "fp32, or bf16 (weights converted once; ViT-S/B ran 1.6-1.9x as fast as fp32 on a CPU with AVX-512-BF16, slower without AVX-512-BF16 or AMX)";

    /// <summary>Warns on stderr when bf16 is asked for on a CPU known to lack bfloat16 instructions.</summary>
    public static void WarnIfSlowBf16(TextWriter error, ScalarType dtype, DeviceType device = DeviceType.CPU)
    {
        if (dtype == ScalarType.BFloat16 && device == DeviceType.CPU && CpuFeatures.Bf16Warning() is { } warning)
            error.WriteLine($"vitsharp: warning: {warning}");
    }

    /// <summary>An <c>--attention</c> value: auto, fused or math.</summary>
    public static AttentionKernel ParseAttentionKernel(string text) => text.ToLowerInvariant() switch
    {
        "auto" => AttentionKernel.Auto,
        "fused" => AttentionKernel.Fused,
        "math" => AttentionKernel.Math,
        "onednn" => AttentionKernel.OneDnn,
        _ => throw new ArgumentException($"--attention '{text}' is not supported; expected auto, fused, math or onednn"),
    };

    public static readonly string AttentionKernelHelp =
        $"auto (on the CPU: math up to {KernelSelection.AutoMathMaxTokens} tokens in fp32, or while batch x heads x tokens^2 <= 2^24 in bf16; else fused), fused (libtorch's scaled_dot_product_attention), math (matmul, softmax, matmul: timm's fused_attn=False) or onednn (both products as oneDNN grouped convolutions; fp32 CPU inference; only shapes that matched libtorch's result in this process, fused elsewhere)";

    /// <summary>A <c>--linear</c> value: auto, blas or onednn.</summary>
    public static LinearKernel ParseLinearKernel(string text) => text.ToLowerInvariant() switch
    {
        "auto" => LinearKernel.Auto,
        "blas" => LinearKernel.Blas,
        "onednn" => LinearKernel.OneDnn,
        _ => throw new ArgumentException($"--linear '{text}' is not supported; expected auto, blas or onednn"),
    };

    public static readonly string LinearKernelHelp =
        "auto (onednn for fp32 on x86-64 CPUs from 64 rows and 2^23 multiply-adds up, or from 2^19 with packed weights; else blas), blas (libtorch's linear: MKL's SGEMM) or onednn (oneDNN at any size: from the packed weights when there are, else as a 1x1 convolution). oneDNN serves only shapes that matched libtorch's linear in this process";

    public static string Shape(Tensor t) => $"[{string.Join(", ", t.shape)}]";
}
