using VitSharp.IO;

namespace VitSharp.Checkpoints;

/// <summary>
/// Opens a checkpoint of any supported format, told by its first bytes (never by its extension): safetensors,
/// PyTorch's zip archive (<c>.pth</c>, <c>.pt</c>, <c>.bin</c>, <c>.pth.tar</c>) or PyTorch's legacy pickle
/// format. A folder is opened as a Hugging Face or timm hub download (<c>model.safetensors</c>, then
/// <c>pytorch_model.bin</c>, then <c>open_clip_pytorch_model.bin</c>).
/// </summary>
public static class CheckpointFile
{
    private static readonly string[] FolderCandidates = ["model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"];

    /// <summary>The file inside a hub folder, or <paramref name="path"/> itself when it is a file.</summary>
    /// <exception cref="FileNotFoundException">Nothing to open.</exception>
    public static string Resolve(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string file = !Directory.Exists(path) ? path
            : FolderCandidates.Select(c => Path.Combine(path, c)).FirstOrDefault(File.Exists)
              ?? throw new FileNotFoundException($"folder '{path}' has no checkpoint ({string.Join(", ", FolderCandidates)})");
        InputFile.RequireRegular(file); // a FIFO (a hub folder's model.safetensors too) would block the sniffing read forever
        if (!File.Exists(file)) throw new FileNotFoundException($"checkpoint '{path}' does not exist");
        return file;
    }

    /// <summary>Opens the checkpoint at <paramref name="path"/> (a file or a hub folder). Only headers are read.</summary>
    /// <exception cref="IOException">The file is unreadable, of an unknown format, or broken (a format-specific subclass says how).</exception>
    public static ICheckpointSource Open(string path)
    {
        string file = Resolve(path);
        return Sniff(file) switch
        {
            Format.SafeTensors => SafeTensors.Read(file),
            Format.Zip or Format.Pickle => IO.Pickle.PyTorchCheckpoint.Open(file),
            Format.Numpy => throw new CheckpointException($"'{file}' is a NumPy .npz archive (the original JAX ViT weights); convert it with timm first (timm.create_model(name, pretrained=True) then save_file)"),
            _ => throw new CheckpointException($"'{file}' is not a checkpoint VitSharp can read: expected safetensors, or a PyTorch .pth/.pt/.bin saved by torch.save"),
        };
    }

    private enum Format { Unknown, SafeTensors, Zip, Pickle, Numpy }

    private static Format Sniff(string file)
    {
        Span<byte> head = stackalloc byte[9];
        int read;
        using (var stream = File.OpenRead(file)) read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..read];
        if (head.StartsWith("PK\x03\x04"u8))
            return IsNpz(file) ? Format.Numpy : Format.Zip;
        // torch.save's legacy format starts with a pickled magic number: PROTO 2, then LONG1.
        if (head.StartsWith(new byte[] { 0x80, 0x02, 0x8a })) return Format.Pickle;
        // safetensors: a little-endian header length, then the JSON header's '{'.
        if (read == 9 && head[8] == (byte)'{') return Format.SafeTensors;
        return Format.Unknown;
    }

    private static bool IsNpz(string file)
    {
        try
        {
            using var zip = System.IO.Compression.ZipFile.OpenRead(file);
            return zip.Entries.Count > 0 && zip.Entries.All(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal));
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }
}
