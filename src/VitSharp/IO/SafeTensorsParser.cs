using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;

namespace VitSharp.IO;

/// <summary>The validated contents of a safetensors header.</summary>
/// <param name="Metadata">The <c>__metadata__</c> map (empty when absent).</param>
/// <param name="Tensors">The tensor entries, in header order.</param>
/// <param name="DataStart">File offset of the first data byte (8 + header length).</param>
internal sealed record SafeTensorsHeader(IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<TensorInfo> Tensors, long DataStart);

/// <summary>
/// Validates a safetensors header against the length of the file it came from. The data itself is not needed:
/// every check compares untrusted numbers with the real file length before anything is sized from them, and
/// every failure is a <see cref="SafeTensorsFormatException"/> naming one problem.
/// </summary>
internal sealed class SafeTensorsParser
{
    /// <summary>The reference implementation's limit; a larger header is hostile or broken, not a model.</summary>
    internal const long MaxHeaderBytes = 100_000_000;

    internal const int PrefixBytes = 8;
    internal const string MetadataKey = "__metadata__";

    /// <summary>Far above any real model (timm uses at most 5) yet keeps hostile shapes from reaching libtorch.</summary>
    internal const int MaxRank = 64;

    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        // The header nests three deep (root, entry, shape); anything deeper is refused while parsing.
        MaxDepth = 8,
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
    };

    private readonly string source;

    private SafeTensorsParser(string source) => this.source = source;

    /// <summary>
    /// Checks the 8-byte length prefix and returns the header length it declares, which is then known to fit in
    /// the file and under <see cref="MaxHeaderBytes"/>.
    /// </summary>
    /// <param name="prefix">The file's first bytes: 8, or all of them when the file is shorter.</param>
    /// <param name="fileLength">The length of the whole file.</param>
    /// <param name="source">The name used in error messages.</param>
    public static int ReadHeaderLength(ReadOnlySpan<byte> prefix, long fileLength, string source) =>
        new SafeTensorsParser(source).ReadHeaderLength(prefix, fileLength);

    /// <summary>Validates <paramref name="header"/> (the JSON after the prefix) against the file length and returns its contents.</summary>
    public static SafeTensorsHeader Parse(ReadOnlyMemory<byte> header, long fileLength, string source) =>
        new SafeTensorsParser(source).Parse(header, fileLength);

    private SafeTensorsHeader Parse(ReadOnlyMemory<byte> header, long fileLength)
    {
        long dataStart = PrefixBytes + header.Length;
        long dataLength = fileLength - dataStart;

        using JsonDocument json = ParseJson(header);
        var (metadata, tensors) = ReadRoot(json.RootElement, dataLength);
        CheckCoverage(tensors, dataLength);
        return new SafeTensorsHeader(metadata, tensors, dataStart);
    }

    private SafeTensorsFormatException Fail(string problem) => new(source, problem);

    private int ReadHeaderLength(ReadOnlySpan<byte> prefix, long fileLength)
    {
        if (fileLength < PrefixBytes)
            throw Fail($"the file is shorter than 8 bytes ({fileLength} bytes), so it has no header length prefix");

        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (declared > MaxHeaderBytes)
            throw Fail($"the header length {declared} is absurdly large (limit {MaxHeaderBytes} bytes)");
        long available = fileLength - PrefixBytes;
        if ((long)declared > available)
            throw Fail($"the header length {declared} is larger than the file, which has {available} bytes after the length prefix");
        return (int)declared;
    }

    private JsonDocument ParseJson(ReadOnlyMemory<byte> header)
    {
        if (!Utf8.IsValid(header.Span))
            throw Fail("the header is not valid UTF-8");
        // The specification's header is a JSON object; insisting on '{' first also refuses a byte-order mark.
        if (header.IsEmpty || header.Span[0] != (byte)'{')
            throw Fail("the header is not a JSON object (it must start with '{')");
        try
        {
            return JsonDocument.Parse(header, JsonOptions);
        }
        catch (JsonException e)
        {
            throw Fail($"the header is not valid JSON: {e.Message}");
        }
    }

    private (IReadOnlyDictionary<string, string> Metadata, List<TensorInfo> Tensors) ReadRoot(JsonElement root, long dataLength)
    {
        IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var tensors = new List<TensorInfo>();
        // JSON allows repeated names and JsonDocument keeps them all; a repeat would make "which one?" ambiguous.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in root.EnumerateObject())
        {
            string key = NameOf(property, "a header key");
            if (!seen.Add(key))
                throw Fail($"duplicate key {Describe.Text(key)} in the header");
            if (key == MetadataKey)
                metadata = ReadMetadata(property.Value);
            else
                tensors.Add(ReadEntry(key, property.Value, dataLength));
        }
        return (metadata, tensors);
    }

    private Dictionary<string, string> ReadMetadata(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail($"'{MetadataKey}' is a JSON {Kind(value)}, not an object of strings");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (JsonProperty property in value.EnumerateObject())
        {
            string key = NameOf(property, $"a '{MetadataKey}' key");
            if (property.Value.ValueKind != JsonValueKind.String)
                throw Fail($"'{MetadataKey}' value for {Describe.Text(key)} is a JSON {Kind(property.Value)}, not a string");
            if (!metadata.TryAdd(key, StringOf(property.Value, $"the '{MetadataKey}' value for {Describe.Text(key)}")))
                throw Fail($"duplicate key {Describe.Text(key)} in '{MetadataKey}'");
        }
        return metadata;
    }

    private TensorInfo ReadEntry(string name, JsonElement value, long dataLength)
    {
        string tensor = $"tensor {Describe.Text(name)}";
        if (value.ValueKind != JsonValueKind.Object)
            throw Fail($"{tensor}: its entry is a JSON {Kind(value)}, not an object");

        JsonElement? dtypeField = null, shapeField = null, offsetsField = null;
        foreach (JsonProperty field in value.EnumerateObject())
        {
            string fieldName = NameOf(field, $"a field of {tensor}");
            switch (fieldName)
            {
                case "dtype": TakeField(ref dtypeField, tensor, field); break;
                case "shape": TakeField(ref shapeField, tensor, field); break;
                case "data_offsets": TakeField(ref offsetsField, tensor, field); break;
                default: throw Fail($"{tensor}: unknown field {Describe.Text(fieldName)} (expected dtype, shape, data_offsets)");
            }
        }

        SafeTensorsDType dtype = ReadDType(tensor, dtypeField ?? throw Missing(tensor, "dtype"));
        long[] shape = ReadShape(tensor, shapeField ?? throw Missing(tensor, "shape"));
        long byteLength = CountBytes(tensor, shape, dtype, out long elementCount);
        var (begin, end) = ReadOffsets(tensor, offsetsField ?? throw Missing(tensor, "data_offsets"), dataLength);
        if (end - begin != byteLength)
            throw Fail($"{tensor}: data_offsets [{begin}, {end}] give a byte length of {end - begin}, but shape {Describe.Shape(shape)} of {dtype.Name} needs {byteLength} bytes");

        return new TensorInfo(name, dtype, shape, elementCount, begin, end);
    }

    private void TakeField(ref JsonElement? slot, string tensor, JsonProperty field)
    {
        if (slot is not null) throw Fail($"{tensor}: duplicate field '{field.Name}'");
        slot = field.Value;
    }

    private SafeTensorsFormatException Missing(string tensor, string field) => Fail($"{tensor}: missing field '{field}'");

    private SafeTensorsDType ReadDType(string tensor, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String)
            throw Fail($"{tensor}: dtype is a JSON {Kind(value)}, not a string");
        string name = StringOf(value, $"the dtype of {tensor}");
        return SafeTensorsDType.FromName(name)
            ?? throw Fail($"{tensor}: unknown or unsupported dtype {Describe.Text(name)} (supported: {SafeTensorsDType.SupportedNames})");
    }

    private long[] ReadShape(string tensor, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw Fail($"{tensor}: shape is a JSON {Kind(value)}, not an array of integers");
        int rank = value.GetArrayLength();
        if (rank > MaxRank)
            throw Fail($"{tensor}: shape has {rank} dimensions, more than the {MaxRank} supported");

        var shape = new long[rank];
        int i = 0;
        foreach (JsonElement dim in value.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long size))
                throw Fail($"{tensor}: shape dimension {i} is not a 64-bit integer (found {Describe.Text(dim.GetRawText())})");
            if (size < 0)
                throw Fail($"{tensor}: shape dimension {i} is negative ({size})");
            shape[i++] = size;
        }
        return shape;
    }

    /// <summary>
    /// The byte length that <paramref name="shape"/> needs. Zero-size dimensions make it 0, but the other
    /// dimensions must still multiply without overflow: libtorch refuses such shapes too, and it keeps the rule
    /// independent of where the zero sits.
    /// </summary>
    private long CountBytes(string tensor, long[] shape, SafeTensorsDType dtype, out long elementCount)
    {
        long product = dtype.ItemSize;
        bool empty = false;
        foreach (long size in shape)
        {
            empty |= size == 0;
            if (size > 1 && product > long.MaxValue / size)
                throw Fail($"{tensor}: shape {Describe.Shape(shape)} of {dtype.Name} overflows (more than 2^63-1 bytes)");
            product *= Math.Max(size, 1);
        }
        elementCount = empty ? 0 : product / dtype.ItemSize;
        return empty ? 0 : product;
    }

    private (long Begin, long End) ReadOffsets(string tensor, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 2)
            throw Fail($"{tensor}: data_offsets must be two integers [begin, end], found {Describe.Text(value.GetRawText())}");
        long begin = ReadOffset(tensor, value[0]);
        long end = ReadOffset(tensor, value[1]);
        if (end < begin)
            throw Fail($"{tensor}: data_offsets [{begin}, {end}] are not increasing");
        if (end > dataLength)
            throw Fail($"{tensor}: data_offsets end {end} is past the end of the data ({dataLength} bytes after the header)");
        return (begin, end);
    }

    private long ReadOffset(string tensor, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long offset) || offset < 0)
            throw Fail($"{tensor}: data_offsets must be two non-negative integers, found {Describe.Text(value.GetRawText())}");
        return offset;
    }

    /// <summary>
    /// The specification requires the data section to be exactly tiled by the tensors. Sorting by
    /// (begin, end) lets one pass find overlaps, holes and unclaimed trailing bytes.
    /// </summary>
    private void CheckCoverage(List<TensorInfo> tensors, long dataLength)
    {
        var byOffset = tensors.OrderBy(t => t.DataBegin).ThenBy(t => t.DataEnd).ToList();
        long covered = 0;
        TensorInfo? previous = null;
        foreach (TensorInfo tensor in byOffset)
        {
            if (tensor.DataBegin < covered)
                throw Fail($"tensors {Describe.Text(previous!.Name)} and {Describe.Text(tensor.Name)} overlap (data_offsets [{previous.DataBegin}, {previous.DataEnd}] and [{tensor.DataBegin}, {tensor.DataEnd}])");
            if (tensor.DataBegin > covered)
                throw Fail($"data bytes [{covered}, {tensor.DataBegin}) belong to no tensor (a gap before tensor {Describe.Text(tensor.Name)})");
            covered = tensor.DataEnd;
            previous = tensor;
        }
        if (covered != dataLength)
            throw Fail($"data bytes [{covered}, {dataLength}) at the end belong to no tensor (a gap: {dataLength - covered} trailing bytes)");
    }

    private string NameOf(JsonProperty property, string what)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            // Thrown for escapes such as a lone "\ud800" that decode to no valid string.
            throw Fail($"{what} is not a valid string (bad escape sequence)");
        }
    }

    private string StringOf(JsonElement value, string what)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw Fail($"{what} is not a valid string (bad escape sequence)");
        }
    }

    private static string Kind(JsonElement value) => value.ValueKind.ToString().ToLowerInvariant();
}
