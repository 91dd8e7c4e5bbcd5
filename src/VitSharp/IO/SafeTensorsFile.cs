using System.Collections.ObjectModel;
using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.IO;

/// <summary>
/// An open, validated safetensors file. The header is checked completely when the file is opened; tensor data
/// stays in the file until asked for, and each <see cref="Get"/> reads it straight into a fresh CPU tensor, so
/// memory holds only the tensors actually read. Tensors own their bytes and stay valid after this object is
/// disposed. Reading is thread-safe; <see cref="Dispose"/> must not race with reads.
/// </summary>
public sealed class SafeTensorsFile : ICheckpointSource
{
    /// <summary>Tensor data is read in pieces of this size, which also lifts <c>Span</c>'s 2 GiB limit.</summary>
    private const long ChunkBytes = 64L << 20;

    private readonly Dictionary<string, TensorInfo> byName;
    private readonly long dataStart;
    private readonly IReadOnlyList<StoredTensor> storedTensors;
    // Null once disposed.
    private SafeTensorsSource? source;

    private SafeTensorsFile(string sourceName, SafeTensorsSource source, SafeTensorsHeader header)
    {
        SourceName = sourceName;
        this.source = source;
        dataStart = header.DataStart;
        Metadata = new ReadOnlyDictionary<string, string>(new Dictionary<string, string>(header.Metadata, StringComparer.Ordinal));
        Tensors = header.Tensors.ToList().AsReadOnly();
        Keys = header.Tensors.Select(t => t.Name).ToList().AsReadOnly();
        byName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        storedTensors = header.Tensors.Select(t => new StoredTensor(t.Name, t.Shape, t.ScalarType, () => Get(t.Name))).ToList().AsReadOnly();
    }

    /// <summary>
    /// Reads and validates the header of <paramref name="source"/>, taking ownership of it: it is disposed here
    /// if the header is refused, else by the returned file.
    /// </summary>
    internal static SafeTensorsFile Open(SafeTensorsSource source, string sourceName)
    {
        try
        {
            Span<byte> prefix = stackalloc byte[SafeTensorsParser.PrefixBytes];
            int prefixRead = source.ReadAt(0, prefix);
            int headerLength = SafeTensorsParser.ReadHeaderLength(prefix[..prefixRead], source.Length, sourceName);

            // The length was checked against the file and the 100 MB limit, so this allocation is bounded by both.
            byte[] header = new byte[headerLength];
            if (source.ReadAt(SafeTensorsParser.PrefixBytes, header) != headerLength)
                throw new SafeTensorsFormatException(sourceName, "the file ended inside the header (it was shortened while being opened)");
            return new SafeTensorsFile(sourceName, source, SafeTensorsParser.Parse(header, source.Length, sourceName));
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>The path the file was read from, or the name given for a stream.</summary>
    public string SourceName { get; }

    /// <summary>Always <c>safetensors</c>.</summary>
    public string Format => "safetensors";

    /// <summary>The header's <c>__metadata__</c> strings; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor keys, in the order the header lists them (files from Python's safetensors list them in data order).</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>Every tensor's header entry, in the order of <see cref="Keys"/>.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>Every tensor as a <see cref="StoredTensor"/> whose <see cref="StoredTensor.Read"/> calls <see cref="Get"/>.</summary>
    IReadOnlyList<StoredTensor> ICheckpointSource.Tensors => storedTensors;

    /// <summary>Safetensors holds only tensors and string metadata.</summary>
    IReadOnlyList<string> ICheckpointSource.NonTensorEntries => [];

    /// <summary>The number of tensors.</summary>
    public int Count => Keys.Count;

    /// <summary>Whether the file holds a tensor named <paramref name="key"/> (ordinal, case-sensitive).</summary>
    public bool Contains(string key) => byName.ContainsKey(key);

    /// <summary>The header entry for <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    public TensorInfo GetInfo(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return byName.TryGetValue(key, out TensorInfo? info)
            ? info
            : throw new KeyNotFoundException($"No tensor {Describe.Text(key)} in safetensors file {Describe.Text(SourceName)}.");
    }

    /// <summary>
    /// Reads a tensor from the file into a new CPU tensor with the stored dtype and shape. The caller owns it (and
    /// so does the caller's current <see cref="DisposeScope"/>, if one is open). Each call reads the file again.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    /// <exception cref="ObjectDisposedException">This file has been disposed.</exception>
    /// <exception cref="SafeTensorsFormatException">A BOOL tensor holds a byte other than 0 or 1, or the file was shortened after it was opened.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public Tensor Get(string key)
    {
        SafeTensorsSource data = source ?? throw new ObjectDisposedException(nameof(SafeTensorsFile), $"Safetensors file {Describe.Text(SourceName)} is closed.");
        TensorInfo info = GetInfo(key);

        Tensor tensor = empty(info.ShapeView, info.ScalarType, CPU);
        try
        {
            ReadData(data, info, tensor);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>Materialises every tensor, keyed by name, in the order of <see cref="Keys"/>. The caller owns them all.</summary>
    public Dictionary<string, Tensor> ToDictionary()
    {
        var tensors = new Dictionary<string, Tensor>(Count, StringComparer.Ordinal);
        try
        {
            foreach (string key in Keys) tensors.Add(key, Get(key));
            return tensors;
        }
        catch
        {
            // Do not leak the native memory of the tensors made before the failure.
            foreach (Tensor tensor in tensors.Values) tensor.Dispose();
            throw;
        }
    }

    /// <summary>Closes the file (a stream given to <see cref="SafeTensors.Read(Stream, string?)"/> stays open). Tensors already returned stay valid.</summary>
    public void Dispose() => Interlocked.Exchange(ref source, null)?.Dispose();

    private void ReadData(SafeTensorsSource data, TensorInfo info, Tensor tensor)
    {
        // A zero-size tensor may have no storage pointer at all; there is nothing to read anyway.
        if (info.ByteLength == 0) return;
        if (info.ByteLength <= ChunkBytes)
        {
            ReadChunk(data, info, tensor.bytes, 0);
            return;
        }

        // Span<byte> cannot cover 2 GiB or more, so large tensors are filled through narrow views of a flat alias.
        int itemSize = info.Type.ItemSize;
        long chunkElements = ChunkBytes / itemSize;
        using Tensor flat = tensor.view(-1);
        for (long start = 0; start < info.ElementCount; start += chunkElements)
        {
            using Tensor chunk = flat.narrow(0, start, Math.Min(chunkElements, info.ElementCount - start));
            ReadChunk(data, info, chunk.bytes, start * itemSize);
        }
    }

    /// <summary>Fills <paramref name="destination"/> with the tensor's bytes from <paramref name="offset"/> (counted from the tensor's start).</summary>
    private void ReadChunk(SafeTensorsSource data, TensorInfo info, Span<byte> destination, long offset)
    {
        int read = data.ReadAt(dataStart + info.DataBegin + offset, destination);
        if (read != destination.Length)
            throw new SafeTensorsFormatException(SourceName, $"tensor {Describe.Text(info.Name)}: the file ends {offset + read} bytes into its {info.ByteLength} bytes of data (it was shortened after it was opened)");
        if (info.ScalarType == ScalarType.Bool) CheckBooleans(info, destination, offset);
    }

    /// <summary>libtorch assumes bool bytes are 0 or 1; any other byte would make later arithmetic undefined.</summary>
    private void CheckBooleans(TensorInfo info, ReadOnlySpan<byte> bytes, long offset)
    {
        int bad = bytes.IndexOfAnyExcept((byte)0, (byte)1);
        if (bad >= 0)
            throw new SafeTensorsFormatException(SourceName, $"tensor {Describe.Text(info.Name)}: BOOL element {offset + bad} is byte {bytes[bad]}, not 0 or 1");
    }
}
