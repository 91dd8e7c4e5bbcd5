using System.Buffers.Binary;
using static TorchSharp.torch;

namespace VitSharp.IO.Pickle;

/// <summary>
/// Reads PyTorch checkpoints written by <c>torch.save</c> (<c>.pth</c>, <c>.pt</c>, <c>.bin</c>) without executing
/// any code: the zip format of torch 1.6 and later (<see cref="Format"/> <c>pytorch-zip</c>) and the older legacy
/// format (<c>pytorch-legacy</c>). The pickle is interpreted by a restricted machine that accepts only the
/// globals a state_dict or training checkpoint needs and refuses everything else. Tensors are listed with their
/// shapes on opening and read from the file one at a time; nested containers are flattened to dotted names.
/// </summary>
/// <remarks>
/// Every defect of the file is reported as a <see cref="PyTorchCheckpointException"/> with a one-line message.
/// docs/checkpoint-formats.md lists the allowlist and limits.
/// </remarks>
public sealed class PyTorchCheckpoint : ICheckpointSource
{
    private const uint ZipLocalHeaderMagic = 0x04034b50;
    private const byte PickleProtoOpcode = 0x80;

    private readonly IStorageRecords records;

    private PyTorchCheckpoint(string sourceName, string format, IStorageRecords records, object? root, long pickleLength)
    {
        SourceName = sourceName;
        Format = format;
        this.records = records;
        var (tensors, nonTensors) = CheckpointFlattener.Flatten(root, maxVisits: 2 * pickleLength + 1024);
        Tensors = tensors.Select(t => new StoredTensor(t.Name, t.Tensor.Size.ToArray(), t.Tensor.Storage.DType, () => ReadTensor(t.Tensor))).ToArray();
        NonTensorEntries = nonTensors;
    }

    /// <inheritdoc/>
    public string SourceName { get; }

    /// <summary><c>pytorch-zip</c> or <c>pytorch-legacy</c>.</summary>
    public string Format { get; }

    /// <inheritdoc/>
    public IReadOnlyList<StoredTensor> Tensors { get; }

    /// <summary>Always empty: torch.save files carry no string metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();

    /// <inheritdoc/>
    public IReadOnlyList<string> NonTensorEntries { get; }

    /// <summary>Opens the checkpoint at <paramref name="path"/>, parsing its pickle and locating its storages.</summary>
    /// <exception cref="PyTorchCheckpointException">The file is not a valid checkpoint, or asks for something the reader refuses.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static PyTorchCheckpoint Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096, FileOptions.RandomAccess);
        return Open(stream, path, leaveOpen: false);
    }

    /// <summary>Opens a checkpoint held in the whole of <paramref name="stream"/>, which must be readable and seekable.</summary>
    /// <param name="stream">The checkpoint; it is read from its start and kept until the checkpoint is disposed.</param>
    /// <param name="sourceName">The name used in error messages; defaults to the file name of a <see cref="FileStream"/>, else "&lt;stream&gt;".</param>
    /// <param name="leaveOpen">True to leave <paramref name="stream"/> open when the checkpoint is disposed (or fails to open).</param>
    /// <exception cref="PyTorchCheckpointException">The data is not a valid checkpoint, or asks for something the reader refuses.</exception>
    public static PyTorchCheckpoint Open(Stream stream, string? sourceName = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanSeek) throw new ArgumentException("The stream must be readable and seekable.", nameof(stream));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Reading PyTorch checkpoints needs a little-endian machine.");
        string source = sourceName ?? (stream as FileStream)?.Name ?? "<stream>";
        try
        {
            return OpenContainer(stream, source, leaveOpen);
        }
        catch (Exception e)
        {
            if (!leaveOpen) stream.Dispose();
            if (e is CheckpointProblem problem) throw new PyTorchCheckpointException(source, problem.Message, problem.Refused);
            throw;
        }
    }

    private static PyTorchCheckpoint OpenContainer(Stream stream, string source, bool leaveOpen)
    {
        stream.Position = 0;
        Span<byte> start = stackalloc byte[4];
        int read = stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        stream.Position = 0;
        if (read == start.Length && BinaryPrimitives.ReadUInt32LittleEndian(start) == ZipLocalHeaderMagic)
        {
            var (archive, root, pickleLength) = ZipCheckpointArchive.Open(stream, leaveOpen);
            return Create(source, "pytorch-zip", archive, root, pickleLength);
        }
        if (read >= 1 && start[0] == PickleProtoOpcode)
        {
            var (file, root, pickleLength) = LegacyCheckpointFile.Open(stream, leaveOpen);
            return Create(source, "pytorch-legacy", file, root, pickleLength);
        }
        throw new CheckpointProblem(read == 0
            ? "the file is empty"
            : "it is neither a zip archive nor a legacy torch.save file (it starts with neither 'PK' nor a pickle)");
    }

    private static PyTorchCheckpoint Create(string source, string format, IStorageRecords records, object? root, long pickleLength)
    {
        try
        {
            return new PyTorchCheckpoint(source, format, records, root, pickleLength);
        }
        catch
        {
            records.Dispose();
            throw;
        }
    }

    private Tensor ReadTensor(TensorRef tensor)
    {
        try
        {
            return TensorMaterializer.Read(tensor, records);
        }
        catch (CheckpointProblem problem)
        {
            throw new PyTorchCheckpointException(SourceName, problem.Message, problem.Refused);
        }
    }

    /// <summary>Closes the file. Tensors already read stay valid; reading more afterwards throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => records.Dispose();
}
