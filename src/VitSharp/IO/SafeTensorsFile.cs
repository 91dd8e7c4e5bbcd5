using System.Collections.ObjectModel;
using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.IO;

/// <summary>
/// A validated safetensors file. The header is checked completely when the file is opened; tensors are
/// materialised only when asked for, each as a fresh CPU tensor that owns a copy of its bytes, so tensors stay
/// valid after this object is disposed. Reading is thread-safe; <see cref="Dispose"/> must not race with reads.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    private readonly Dictionary<string, TensorInfo> byName;
    // The whole file. Tensors are copied out of it, never aliased, so dropping it can never invalidate a tensor.
    private byte[]? buffer;
    private readonly int dataStart;

    internal SafeTensorsFile(string sourceName, byte[] buffer, SafeTensorsHeader header)
    {
        SourceName = sourceName;
        this.buffer = buffer;
        dataStart = header.DataStart;
        Metadata = new ReadOnlyDictionary<string, string>(new Dictionary<string, string>(header.Metadata, StringComparer.Ordinal));
        Tensors = header.Tensors.ToList().AsReadOnly();
        Keys = header.Tensors.Select(t => t.Name).ToList().AsReadOnly();
        byName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The path the file was read from, or the name given for a stream.</summary>
    public string SourceName { get; }

    /// <summary>The header's <c>__metadata__</c> strings; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor keys, in the order the header lists them (files from Python's safetensors list them in data order).</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>Every tensor's header entry, in the order of <see cref="Keys"/>.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

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
    /// Creates a new CPU tensor with the stored dtype, shape and bytes. The caller owns it (and so does the
    /// caller's current <see cref="DisposeScope"/>, if one is open).
    /// </summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    /// <exception cref="ObjectDisposedException">This file has been disposed.</exception>
    public Tensor Get(string key)
    {
        TensorInfo info = GetInfo(key);
        byte[] data = buffer ?? throw new ObjectDisposedException(nameof(SafeTensorsFile));
        ReadOnlySpan<byte> bytes = data.AsSpan(dataStart + (int)info.DataBegin, (int)info.ByteLength);

        Tensor tensor = empty(info.ShapeView, info.ScalarType, CPU);
        try
        {
            // A zero-size tensor may have no storage pointer at all; there is nothing to copy anyway.
            if (!bytes.IsEmpty) bytes.CopyTo(tensor.bytes);
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

    /// <summary>Releases the file's bytes. Tensors already returned stay valid.</summary>
    public void Dispose() => buffer = null;
}
