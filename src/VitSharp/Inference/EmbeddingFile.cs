using System.Text;
using System.Text.Json;
using VitSharp.IO;
using static TorchSharp.torch;

namespace VitSharp.Inference;

/// <summary>
/// Saves a feature matrix with the image file each row belongs to: <c>.safetensors</c> (tensor <c>features</c>
/// [N, D], metadata <c>files</c> = JSON list) or <c>.npy</c> (float32 [N, D] plus a sidecar <c>NAME.files.txt</c>,
/// one path per line). Each file is written atomically.
/// </summary>
public static class EmbeddingFile
{
    /// <summary>The tensor key in a safetensors output.</summary>
    public const string FeaturesKey = "features";

    /// <summary>The metadata key holding the JSON list of files in a safetensors output.</summary>
    public const string FilesKey = "files";

    /// <summary>True when <paramref name="path"/> ends in an extension this class writes.</summary>
    public static bool IsSupported(string path) =>
        path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase);

    /// <summary>The sidecar listing the files of a <c>.npy</c> output: <c>F.npy</c> → <c>F.files.txt</c>.</summary>
    public static string FilesSidecar(string npyPath) => Path.ChangeExtension(npyPath, ".files.txt");

    /// <summary>Writes <paramref name="features"/> [N, D] and the N <paramref name="files"/>; the format follows the extension.</summary>
    public static void Write(string path, Tensor features, IReadOnlyList<string> files)
    {
        if (features.ndim != 2 || features.shape[0] != files.Count)
            throw new ArgumentException($"features of shape [{string.Join(", ", features.shape)}] do not match {files.Count} files; expected [N, D]");
        if (files.Any(f => f.Contains('\n') || f.Contains('\r')))
            throw new ArgumentException("a file path contains a line break; it cannot be listed one per line");

        using var values = features.detach().to(ScalarType.Float32).cpu().contiguous();
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            NpyFormat.WriteFloat32(path, values.data<float>().ToArray(), (int)values.shape[0], (int)values.shape[1]);
            string list = string.Concat(files.Select(f => f + "\n"));
            AtomicFile.Write(FilesSidecar(path), stream => stream.Write(Encoding.UTF8.GetBytes(list)));
        }
        else if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            SafeTensors.Write(path, new Dictionary<string, Tensor> { [FeaturesKey] = values },
                new Dictionary<string, string> { [FilesKey] = JsonSerializer.Serialize(files) });
        }
        else
        {
            throw new ArgumentException($"'{path}': the output must end in .safetensors or .npy");
        }
    }
}
