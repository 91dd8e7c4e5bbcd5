using System.Security.Cryptography;
using System.Text;
using VitSharp.IO;
using static TorchSharp.torch;

namespace VitSharp.Training;

/// <summary>
/// The crash-safe training checkpoint of a run folder: <c>checkpoint.safetensors</c>, holding named tensors
/// (model, EMA, optimizer state) and string metadata (config, training state, arguments), sealed with a SHA-256
/// of all of it so that any damage is found on load.
/// </summary>
/// <remarks>
/// Saving writes <c>checkpoint.next.safetensors</c> (temporary file, flushed to disk, renamed: see
/// <see cref="SafeTensors.Write"/>), then renames the current checkpoint to <c>checkpoint.prev.safetensors</c> and
/// the new one into place. At every moment a complete checkpoint exists: a crash while writing leaves the old
/// one; a crash between the two renames leaves <c>checkpoint.next</c> complete, and <see cref="Load"/> finishes the
/// rotation.
/// </remarks>
public static class TrainingCheckpoint
{
    public const string FileName = "checkpoint.safetensors";
    public const string PreviousFileName = "checkpoint.prev.safetensors";
    public const string NextFileName = "checkpoint.next.safetensors";

    /// <summary>Metadata key of the SHA-256 (hex) over every other metadata entry and every tensor.</summary>
    public const string ChecksumKey = "vitsharp.sha256";

    /// <summary>Metadata key that marks the file as a training checkpoint, with its layout version.</summary>
    public const string FormatKey = "vitsharp.checkpoint";
    public const string FormatValue = "training-v1";

    public static string PathIn(string folder) => Path.Combine(folder, FileName);

    /// <summary>Writes a new checkpoint into <paramref name="folder"/>, keeping the current one as the previous.</summary>
    public static void Save(string folder, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var sealedMetadata = new Dictionary<string, string>(metadata, StringComparer.Ordinal) { [FormatKey] = FormatValue };
        sealedMetadata[ChecksumKey] = Checksum(tensors, sealedMetadata);
        string current = Path.Combine(folder, FileName);
        string next = Path.Combine(folder, NextFileName);
        SafeTensors.Write(next, tensors, sealedMetadata);
        if (File.Exists(current)) File.Move(current, Path.Combine(folder, PreviousFileName), overwrite: true);
        File.Move(next, current);
    }

    /// <summary>True when the folder holds a checkpoint (or a completed one whose rotation a crash interrupted).</summary>
    public static bool Exists(string folder) => File.Exists(Path.Combine(folder, FileName)) || File.Exists(Path.Combine(folder, NextFileName));

    /// <summary>Reads and verifies the folder's checkpoint. The caller owns the returned tensors.</summary>
    /// <exception cref="FileNotFoundException">There is no checkpoint.</exception>
    /// <exception cref="CheckpointCorruptException">The checkpoint is damaged; the message says whether a previous one is there.</exception>
    public static (Dictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Load(string folder)
    {
        string current = Path.Combine(folder, FileName);
        string next = Path.Combine(folder, NextFileName);
        // checkpoint.next only ever appears complete (it is itself written atomically), so a crash between the two
        // renames of Save is finished here rather than falling back to an older state.
        if (!File.Exists(current) && File.Exists(next)) File.Move(next, current);
        if (!File.Exists(current)) throw new FileNotFoundException($"no training checkpoint in '{folder}' (expected {FileName})");
        try
        {
            return Read(current);
        }
        catch (CheckpointCorruptException e)
        {
            string previous = Path.Combine(folder, PreviousFileName);
            string advice = File.Exists(previous)
                ? $"; the previous checkpoint '{previous}' was left untouched: rename it to {FileName} to resume from it"
                : "; there is no previous checkpoint to fall back to";
            throw new CheckpointCorruptException(e.Message + advice, e.InnerException);
        }
    }

    /// <summary>Reads and verifies one checkpoint file.</summary>
    public static (Dictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using var file = SafeTensors.Read(path);
            if (!file.Metadata.TryGetValue(FormatKey, out string? format) || format != FormatValue)
                throw new CheckpointCorruptException($"'{path}' is not a VitSharp training checkpoint ({FormatKey} is {(format is null ? "missing" : $"'{format}'")}, expected '{FormatValue}')");
            if (!file.Metadata.TryGetValue(ChecksumKey, out string? stored))
                throw new CheckpointCorruptException($"training checkpoint '{path}' is damaged: it has no {ChecksumKey}");
            foreach (string key in file.Keys) tensors[key] = file.Get(key);
            var metadata = file.Metadata.Where(kv => kv.Key != ChecksumKey).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
            string actual = Checksum(tensors, metadata);
            if (!string.Equals(actual, stored, StringComparison.Ordinal))
                throw new CheckpointCorruptException($"training checkpoint '{path}' is damaged: its contents do not match its SHA-256 (stored {Short(stored)}, computed {Short(actual)})");
            return (tensors, file.Metadata);
        }
        catch (Exception e) when (e is not CheckpointCorruptException)
        {
            Dispose(tensors);
            if (e is SafeTensorsFormatException or EndOfStreamException or IOException)
                throw new CheckpointCorruptException($"training checkpoint '{path}' is damaged: {e.Message}", e);
            throw;
        }
        catch
        {
            Dispose(tensors);
            throw;
        }
    }

    private static string Short(string hex) => hex.Length > 12 ? hex[..12] + "…" : hex;

    private static void Dispose(Dictionary<string, Tensor> tensors)
    {
        foreach (var t in tensors.Values) t.Dispose();
        tensors.Clear();
    }

    /// <summary>SHA-256 over the metadata (sorted, checksum excluded) and every tensor's name, dtype, shape and bytes (sorted by name).</summary>
    private static string Checksum(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (key, value) in metadata.Where(kv => kv.Key != ChecksumKey).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            AppendText(sha, $"{key.Length}:{key}{value.Length}:{value}");
        foreach (var (name, t) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            AppendText(sha, $"{name.Length}:{name}{t.dtype}[{string.Join(",", t.shape)}]");
            using var scope = NewDisposeScope();
            var flat = t.detach().cpu().contiguous().reshape(-1);
            // Chunks keep each span under Span's 2 GiB limit.
            long chunk = Math.Max(1, (64L << 20) / flat.element_size());
            for (long start = 0; start < flat.numel(); start += chunk)
                sha.AppendData(flat.narrow(0, start, Math.Min(chunk, flat.numel() - start)).bytes);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static void AppendText(IncrementalHash sha, string text) => sha.AppendData(Encoding.UTF8.GetBytes(text));
}
