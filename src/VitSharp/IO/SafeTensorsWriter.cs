using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.IO;

/// <summary>
/// Writes tensors in the safetensors layout exactly as Python's safetensors does: tensors sorted by decreasing
/// dtype alignment and then by name, compact JSON header (<c>__metadata__</c> first, then tensors in data order),
/// header padded with spaces to a multiple of 8, data packed without gaps.
/// </summary>
internal static class SafeTensorsWriter
{
    /// <summary>Tensor data is copied out in pieces of this size, which also lifts <c>Span</c>'s 2 GiB limit.</summary>
    private const long ChunkBytes = 64L << 20;

    /// <summary>The public parameter that argument errors about tensors refer to.</summary>
    private const string TensorsParameter = "tensors";

    /// <summary>One tensor's place in the file.</summary>
    private sealed record Entry(string Name, Tensor Tensor, SafeTensorsDType DType, long[] Shape, long Begin, long End);

    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        // Everything that can be checked is checked before the temporary file exists.
        List<Entry> entries = Plan(tensors);
        byte[] header = BuildHeader(entries, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> prefix = stackalloc byte[SafeTensorsParser.PrefixBytes];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            stream.Write(prefix);
            stream.Write(header);
            foreach (Entry entry in entries) WriteData(stream, entry);
        });
    }

    private static List<Entry> Plan(IReadOnlyDictionary<string, Tensor> tensors)
    {
        var described = tensors.Select(pair => Inspect(pair.Key, pair.Value))
            .OrderByDescending(e => e.DType.LayoutRank)
            .ThenBy(e => e.Name, StringComparer.Ordinal)
            .ToList();

        var entries = new List<Entry>(described.Count);
        long offset = 0;
        foreach (var (name, tensor, dtype, shape) in described)
        {
            long length = checked(tensor.numel() * dtype.ItemSize);
            entries.Add(new Entry(name, tensor, dtype, shape, offset, checked(offset + length)));
            offset += length;
        }
        return entries;
    }

    private static (string Name, Tensor Tensor, SafeTensorsDType DType, long[] Shape) Inspect(string name, Tensor? tensor)
    {
        if (name is null) throw new ArgumentException("A tensor name is null.", TensorsParameter);
        if (name == SafeTensorsParser.MetadataKey)
            throw new ArgumentException($"'{SafeTensorsParser.MetadataKey}' is reserved by the format and cannot name a tensor.", TensorsParameter);
        if (tensor is null) throw new ArgumentException($"Tensor {Describe.Text(name)} is null.", TensorsParameter);

        SafeTensorsDType dtype = SafeTensorsDType.FromScalarType(tensor.dtype)
            ?? throw new ArgumentException($"Tensor {Describe.Text(name)} has dtype {tensor.dtype}, which safetensors writing here does not support (supported: {SafeTensorsDType.SupportedNames}).", TensorsParameter);
        if (tensor.is_sparse)
            throw new ArgumentException($"Tensor {Describe.Text(name)} is sparse; safetensors stores dense tensors only.", TensorsParameter);
        return (name, tensor, dtype, tensor.shape);
    }

    private static byte[] BuildHeader(List<Entry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps non-ASCII names readable as UTF-8, as serde_json writes them.
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 }) WriteMetadata(writer, metadata);
            foreach (Entry entry in entries) WriteEntry(writer, entry);
            writer.WriteEndObject();
        }

        // Padding the header to a multiple of 8 puts the data at an 8-aligned file offset.
        int padded = (json.WrittenCount + 7) / 8 * 8;
        if (padded > SafeTensorsParser.MaxHeaderBytes)
            throw new ArgumentException($"The safetensors header would be {padded} bytes, more than readers accept ({SafeTensorsParser.MaxHeaderBytes}).", nameof(metadata));
        byte[] header = new byte[padded];
        json.WrittenSpan.CopyTo(header);
        header.AsSpan(json.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static void WriteMetadata(Utf8JsonWriter writer, IReadOnlyDictionary<string, string> metadata)
    {
        writer.WriteStartObject(SafeTensorsParser.MetadataKey);
        // Sorted so the same input always gives the same bytes.
        foreach (var (key, value) in metadata.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            if (key is null || value is null)
                throw new ArgumentException("Metadata keys and values must not be null.", nameof(metadata));
            writer.WriteString(key, value);
        }
        writer.WriteEndObject();
    }

    private static void WriteEntry(Utf8JsonWriter writer, Entry entry)
    {
        writer.WriteStartObject(entry.Name);
        writer.WriteString("dtype", entry.DType.Name);
        writer.WriteStartArray("shape");
        foreach (long size in entry.Shape) writer.WriteNumberValue(size);
        writer.WriteEndArray();
        writer.WriteStartArray("data_offsets");
        writer.WriteNumberValue(entry.Begin);
        writer.WriteNumberValue(entry.End);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>
    /// Writes one tensor's bytes from a contiguous CPU copy, so views, transposes and tensors on other devices
    /// all store their logical (row-major) contents.
    /// </summary>
    private static void WriteData(Stream stream, Entry entry)
    {
        long byteLength = entry.End - entry.Begin;
        if (byteLength == 0) return;

        // Disposes every temporary made here; it never touches the caller's tensor, which was made outside it.
        using DisposeScope scope = NewDisposeScope();
        Tensor flat = entry.Tensor.detach().cpu().contiguous().reshape(-1);
        if (flat.dtype != entry.DType.ScalarType || flat.numel() * entry.DType.ItemSize != byteLength)
            throw new InvalidOperationException($"Tensor {Describe.Text(entry.Name)} changed while it was being written.");

        long elements = flat.numel();
        long chunkElements = Math.Max(1, ChunkBytes / entry.DType.ItemSize);
        for (long start = 0; start < elements; start += chunkElements)
        {
            using Tensor chunk = flat.narrow(0, start, Math.Min(chunkElements, elements - start));
            stream.Write(chunk.bytes);
        }
    }
}
