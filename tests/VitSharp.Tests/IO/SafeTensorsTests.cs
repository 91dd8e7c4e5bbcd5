using System.Buffers.Binary;
using System.Text;
using TorchSharp;
using VitSharp.IO;
using Xunit;
using static TorchSharp.torch;

namespace VitSharp.Tests.IO;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("vitsharp-safetensors-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string PathOf(string name) => Path.Combine(folder, name);

    // ---------------------------------------------------------------- round trips

    public static TheoryData<ScalarType, string> EveryDType => new()
    {
        { ScalarType.Float32, "F32" },
        { ScalarType.Float16, "F16" },
        { ScalarType.BFloat16, "BF16" },
        { ScalarType.Float64, "F64" },
        { ScalarType.Int64, "I64" },
        { ScalarType.Int32, "I32" },
        { ScalarType.Int16, "I16" },
        { ScalarType.Int8, "I8" },
        { ScalarType.Byte, "U8" },
        { ScalarType.Bool, "BOOL" },
    };

    private static readonly long[][] Shapes = [[], [0], [2, 0, 3], [7], [3, 5], [2, 3, 4]];

    [Theory]
    [MemberData(nameof(EveryDType))]
    public void RoundTripsEveryDTypeBitForBit(ScalarType dtype, string dtypeName)
    {
        string path = PathOf("roundtrip.safetensors");
        var originals = Shapes.Select((shape, i) => RandomTensor(shape, dtype, seed: i)).ToArray();
        SafeTensors.Write(path, originals.Select((t, i) => ($"t{i}", t)).ToDictionary(p => p.Item1, p => p.t));

        using SafeTensorsFile file = SafeTensors.Read(path);
        for (int i = 0; i < originals.Length; i++)
        {
            TensorInfo info = file.GetInfo($"t{i}");
            Assert.Equal(dtypeName, info.DType);
            Assert.Equal(dtype, info.ScalarType);
            Assert.Equal(Shapes[i], info.Shape);
            Assert.Equal(Shapes[i].Aggregate(1L, (a, b) => a * b), info.ElementCount);

            using Tensor back = file.Get($"t{i}");
            Assert.Equal(dtype, back.dtype);
            Assert.Equal(DeviceType.CPU, back.device_type);
            Assert.Equal(Shapes[i], back.shape);
            Assert.Equal(BytesOf(originals[i]), BytesOf(back));
        }
    }

    [Fact]
    public void WritesNonContiguousTensorsAsTheirLogicalContents()
    {
        string path = PathOf("views.safetensors");
        using Tensor source = arange(24, dtype: ScalarType.Float32).reshape(2, 3, 4);
        using Tensor permuted = source.permute(2, 0, 1);
        using Tensor offsetView = source[1];
        using Tensor strided = source.slice(2, 0, 4, 2);
        byte[] before = BytesOf(source);

        SafeTensors.Write(path, new Dictionary<string, Tensor> { ["permuted"] = permuted, ["offset"] = offsetView, ["strided"] = strided });

        using SafeTensorsFile file = SafeTensors.Read(path);
        foreach (var (key, view) in new[] { ("permuted", permuted), ("offset", offsetView), ("strided", strided) })
        {
            using Tensor back = file.Get(key);
            using Tensor expected = view.contiguous();
            Assert.Equal(view.shape, back.shape);
            Assert.Equal(BytesOf(expected), BytesOf(back));
        }
        Assert.Equal(before, BytesOf(source));
    }

    [Fact]
    public void KeepsMetadata()
    {
        string path = PathOf("meta.safetensors");
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["note"] = "ünïcödé \"quoted\" back\\slash\nsecond line <&>",
            ["empty"] = "",
        };
        using Tensor t = ones(2);
        SafeTensors.Write(path, new Dictionary<string, Tensor> { ["x"] = t }, metadata);

        using SafeTensorsFile file = SafeTensors.Read(path);
        Assert.Equal(metadata.OrderBy(p => p.Key), file.Metadata.OrderBy(p => p.Key));
    }

    [Fact]
    public void MetadataIsEmptyWhenNoneWasWritten()
    {
        string path = PathOf("nometa.safetensors");
        using Tensor t = ones(2);
        SafeTensors.Write(path, new Dictionary<string, Tensor> { ["x"] = t });

        using SafeTensorsFile file = SafeTensors.Read(path);
        Assert.Empty(file.Metadata);
        Assert.DoesNotContain("__metadata__", Encoding.UTF8.GetString(File.ReadAllBytes(path)));
    }

    [Fact]
    public void OrdersKeysLikePythonAndLooksThemUp()
    {
        string path = PathOf("order.safetensors");
        using Tensor zeta = zeros(3), beta = zeros(1), alpha = zeros(2, dtype: ScalarType.Int64);
        using Tensor mid = zeros(2, dtype: ScalarType.BFloat16), flag = zeros(5, dtype: ScalarType.Bool);
        SafeTensors.Write(path, new Dictionary<string, Tensor>
        {
            ["zeta"] = zeta, ["flag"] = flag, ["mid"] = mid, ["beta"] = beta, ["alpha"] = alpha,
        });

        using SafeTensorsFile file = SafeTensors.Read(path);
        // Decreasing alignment (I64, F32, BF16, BOOL), then by name: every tensor starts aligned to its item size.
        string[] expectedOrder = ["alpha", "beta", "zeta", "mid", "flag"];
        Assert.Equal(expectedOrder, file.Keys);
        Assert.Equal(expectedOrder, file.Tensors.Select(t => t.Name));
        Assert.Equal(5, file.Count);
        Assert.Equal(new[] { 0L, 16, 20, 32, 36 }, file.Tensors.Select(t => t.DataBegin));
        Assert.Equal(new[] { 16L, 20, 32, 36, 41 }, file.Tensors.Select(t => t.DataEnd));

        Assert.True(file.Contains("mid"));
        Assert.False(file.Contains("MID"));
        Assert.False(file.Contains("missing"));
        var missing = Assert.Throws<KeyNotFoundException>(() => file.Get("missing"));
        Assert.Contains("'missing'", missing.Message);

        Dictionary<string, Tensor> all = file.ToDictionary();
        try
        {
            Assert.Equal(expectedOrder, all.Keys);
            Assert.Equal(ScalarType.BFloat16, all["mid"].dtype);
        }
        finally
        {
            foreach (Tensor t in all.Values) t.Dispose();
        }
    }

    [Fact]
    public void TensorsOwnTheirDataAndOutliveTheFile()
    {
        string path = PathOf("own.safetensors");
        using (Tensor t = arange(6, dtype: ScalarType.Float32))
            SafeTensors.Write(path, new Dictionary<string, Tensor> { ["x"] = t });

        SafeTensorsFile file = SafeTensors.Read(path);
        using Tensor first = file.Get("x");
        using Tensor second = file.Get("x");
        first.add_(100);
        file.Dispose();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        Assert.Equal(new float[] { 100, 101, 102, 103, 104, 105 }, first.data<float>().ToArray());
        Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5 }, second.data<float>().ToArray());
        Assert.Throws<ObjectDisposedException>(() => file.Get("x"));
    }

    [Fact]
    public void ReadsFromStreamsWithTheGivenName()
    {
        byte[] bytes = Build("{}", []);
        using (SafeTensorsFile file = SafeTensors.Read(new NonSeekableStream(bytes)))
            Assert.Empty(file.Keys);

        var error = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(new MemoryStream([1, 2]), "upload #7"));
        Assert.Equal("upload #7", error.SourceName);
        Assert.Contains("'upload #7'", error.Message);
    }

    // ---------------------------------------------------------------- Python's layout, built byte by byte

    /// <summary>
    /// A file laid out the way the specification and Python's safetensors write it: an 8-byte little-endian
    /// header length; compact JSON with <c>__metadata__</c> first and tensors in data order; the header padded with
    /// spaces to a multiple of 8; data sorted by decreasing dtype alignment, then name; IEEE-754 little-endian values.
    /// </summary>
    private static byte[] PythonStyleFile()
    {
        const string header =
            "{\"__metadata__\":{\"format\":\"pt\"}," +
            "\"step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}," +
            "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[8,24]}," +
            "\"bias\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[24,28]}," +
            "\"half\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[28,32]}," +
            "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[32,35]}}";
        byte[] data =
        [
            0x07, 0, 0, 0, 0, 0, 0, 0,                    // step: I64 7
            0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40, // weight: F32 1.0 (0x3F800000), 2.0 (0x40000000)
            0x00, 0x00, 0x00, 0xBF, 0x00, 0x00, 0x40, 0x40, //         F32 -0.5 (0xBF000000), 3.0 (0x40400000)
            0x80, 0x3F, 0x00, 0xC0,                         // bias: BF16 1.0 (0x3F80), -2.0 (0xC000)
            0x00, 0x3C, 0x00, 0xC0,                         // half: F16 1.0 (0x3C00), -2.0 (0xC000)
            0x01, 0x00, 0x01,                               // mask: true, false, true
        ];
        return Build(header, data);
    }

    [Fact]
    public void ReadsAFileInPythonsLayout()
    {
        string path = PathOf("python.safetensors");
        File.WriteAllBytes(path, PythonStyleFile());

        using SafeTensorsFile file = SafeTensors.Read(path);
        Assert.Equal(["step", "weight", "bias", "half", "mask"], file.Keys);
        Assert.Equal("pt", file.Metadata["format"]);

        using Tensor step = file.Get("step");
        Assert.Empty(step.shape);
        Assert.Equal(7L, step.item<long>());

        using Tensor weight = file.Get("weight");
        Assert.Equal([2L, 2], weight.shape);
        Assert.Equal(new[] { 1f, 2f, -0.5f, 3f }, weight.data<float>().ToArray());

        using Tensor bias = file.Get("bias");
        using Tensor biasF32 = bias.to_type(ScalarType.Float32);
        Assert.Equal(ScalarType.BFloat16, bias.dtype);
        Assert.Equal(new[] { 1f, -2f }, biasF32.data<float>().ToArray());

        using Tensor half = file.Get("half");
        using Tensor halfF32 = half.to_type(ScalarType.Float32);
        Assert.Equal(ScalarType.Float16, half.dtype);
        Assert.Equal(new[] { 1f, -2f }, halfF32.data<float>().ToArray());

        using Tensor mask = file.Get("mask");
        Assert.Equal(new[] { true, false, true }, mask.data<bool>().ToArray());
    }

    [Fact]
    public void WritesPythonsLayoutByteForByte()
    {
        string source = PathOf("python.safetensors");
        string copy = PathOf("copy.safetensors");
        File.WriteAllBytes(source, PythonStyleFile());

        using (SafeTensorsFile file = SafeTensors.Read(source))
        {
            Dictionary<string, Tensor> tensors = file.ToDictionary();
            // Scrambled insertion order: the writer must impose the layout order itself.
            var scrambled = tensors.Reverse().ToDictionary(p => p.Key, p => p.Value);
            SafeTensors.Write(copy, scrambled, new Dictionary<string, string> { ["format"] = "pt" });
            foreach (Tensor t in tensors.Values) t.Dispose();
        }

        Assert.Equal(PythonStyleFile(), File.ReadAllBytes(copy));
    }

    [Fact]
    public void WritesAnEmptyFileLikePython()
    {
        // An empty header is "{}" padded to 8 bytes with spaces; no data follows.
        byte[] expected = [8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32];
        string path = PathOf("empty.safetensors");

        SafeTensors.Write(path, new Dictionary<string, Tensor>());

        Assert.Equal(expected, File.ReadAllBytes(path));
        using SafeTensorsFile file = SafeTensors.Read(path);
        Assert.Empty(file.Keys);
        Assert.Empty(file.Metadata);
    }

    // ---------------------------------------------------------------- hostile files

    private static string Entry(string dtype, string shape, long begin, long end) =>
        $"{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";

    private static readonly string F32Pair = Entry("F32", "[2]", 0, 8);

    public static TheoryData<string, byte[], string> HostileFiles => new()
    {
        { "empty file", [], "shorter than 8 bytes" },
        { "3-byte file", [1, 2, 3], "shorter than 8 bytes" },
        { "header longer than file", Prefixed(1000, "{}"), "larger than the file" },
        { "header one byte too long", Prefixed(3, "{}"), "larger than the file" },
        { "absurd header length", Prefixed(200_000_000, "{}      "), "absurdly large" },
        { "u64 max header length", Prefixed(ulong.MaxValue, "{}      "), "absurdly large" },
        { "zero header length", Prefixed(0, ""), "not a JSON object" },
        { "invalid UTF-8", Build([.. "{\"a"u8, 0xFF, .. "\":1}"u8], []), "not valid UTF-8" },
        { "byte-order mark", Build([0xEF, 0xBB, 0xBF, .. "{}"u8], []), "not a JSON object" },
        { "JSON array", Build("[]", []), "not a JSON object" },
        { "broken JSON", Build("{\"a\": }", []), "not valid JSON" },
        { "trailing garbage", Build("{} x", []), "not valid JSON" },
        { "NUL padding", Build([.. "{}"u8, 0, 0, 0, 0, 0, 0], [], pad: false), "not valid JSON" },
        { "too deep", Build("{\"a\":{\"shape\":[[[[[[[[[1]]]]]]]]]}}", []), "not valid JSON" },
        { "entry not an object", Build("{\"a\":[1]}", []), "entry is a JSON array, not an object" },
        { "missing dtype", Build("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "missing field 'dtype'" },
        { "missing shape", Build("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", new byte[4]), "missing field 'shape'" },
        { "missing data_offsets", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]), "missing field 'data_offsets'" },
        { "unknown field", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"offsets\":1}}", new byte[4]), "unknown field 'offsets'" },
        { "duplicate field", Build("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "duplicate field 'dtype'" },
        { "unsupported dtype", Build($"{{\"a\":{Entry("F8_E4M3", "[1]", 0, 1)}}}", new byte[1]), "unknown or unsupported dtype 'F8_E4M3'" },
        { "lower-case dtype", Build($"{{\"a\":{Entry("f32", "[1]", 0, 4)}}}", new byte[4]), "unknown or unsupported dtype 'f32'" },
        { "dtype not a string", Build("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "dtype is a JSON number" },
        { "negative dimension", Build($"{{\"a\":{Entry("F32", "[-1]", 0, 0)}}}", []), "dimension 0 is negative" },
        { "fractional dimension", Build($"{{\"a\":{Entry("F32", "[1.5]", 0, 0)}}}", []), "dimension 0 is not a 64-bit integer" },
        { "string dimension", Build($"{{\"a\":{Entry("F32", "[\"2\"]", 0, 0)}}}", []), "dimension 0 is not a 64-bit integer" },
        { "dimension beyond int64", Build($"{{\"a\":{Entry("F32", "[1,99999999999999999999]", 0, 0)}}}", []), "dimension 1 is not a 64-bit integer" },
        { "overflowing shape", Build($"{{\"a\":{Entry("F32", "[4294967296,4294967296]", 0, 0)}}}", []), "overflows" },
        { "overflowing shape with a zero", Build($"{{\"a\":{Entry("F32", "[4294967296,4294967296,0]", 0, 0)}}}", []), "overflows" },
        { "shape not an array", Build($"{{\"a\":{Entry("F32", "3", 0, 4)}}}", new byte[4]), "shape is a JSON number" },
        { "too many dimensions", Build($"{{\"a\":{Entry("U8", $"[{string.Join(",", Enumerable.Repeat(1, 65))}]", 0, 1)}}}", new byte[1]), "65 dimensions" },
        { "one offset", Build("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0]}}", []), "data_offsets must be two integers" },
        { "three offsets", Build("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0,0]}}", []), "data_offsets must be two integers" },
        { "offsets not an array", Build("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":0}}", []), "data_offsets must be two integers" },
        { "decreasing offsets", Build($"{{\"a\":{Entry("F32", "[1]", 4, 0)}}}", new byte[4]), "not increasing" },
        { "negative offset", Build($"{{\"a\":{Entry("F32", "[1]", -4, 0)}}}", new byte[4]), "non-negative integers" },
        { "string offsets", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",\"4\"]}}", new byte[4]), "non-negative integers" },
        { "fractional offset", Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}", new byte[4]), "non-negative integers" },
        { "end past the data", Build($"{{\"a\":{F32Pair}}}", new byte[4]), "past the end of the data" },
        { "huge end offset", Build($"{{\"a\":{Entry("U8", "[9223372036854775807]", 0, long.MaxValue)}}}", new byte[4]), "past the end of the data" },
        { "length mismatch", Build($"{{\"a\":{Entry("F32", "[2]", 0, 4)}}}", new byte[4]), "byte length of 4, but shape [2] of F32 needs 8 bytes" },
        { "overlap", Build($"{{\"a\":{F32Pair},\"b\":{Entry("F32", "[2]", 4, 12)}}}", new byte[12]), "overlap" },
        { "same range twice", Build($"{{\"a\":{F32Pair},\"b\":{F32Pair}}}", new byte[8]), "overlap" },
        { "empty tensor inside another", Build($"{{\"a\":{F32Pair},\"z\":{Entry("F32", "[0]", 4, 4)}}}", new byte[8]), "overlap" },
        { "gap between tensors", Build($"{{\"a\":{Entry("F32", "[1]", 0, 4)},\"b\":{Entry("F32", "[1]", 8, 12)}}}", new byte[12]), "gap before tensor 'b'" },
        { "gap at the start", Build($"{{\"a\":{Entry("F32", "[1]", 4, 8)}}}", new byte[8]), "gap before tensor 'a'" },
        { "trailing bytes", Build($"{{\"a\":{Entry("F32", "[1]", 0, 4)}}}", new byte[8]), "4 trailing bytes" },
        { "data but no tensors", Build("{}", new byte[8]), "8 trailing bytes" },
        { "metadata value not a string", Build("{\"__metadata__\":{\"k\":1}}", []), "value for 'k' is a JSON number, not a string" },
        { "metadata not an object", Build("{\"__metadata__\":\"pt\"}", []), "'__metadata__' is a JSON string, not an object" },
        { "metadata null", Build("{\"__metadata__\":null}", []), "'__metadata__' is a JSON null, not an object" },
        { "duplicate metadata key", Build("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", []), "duplicate key 'k' in '__metadata__'" },
        { "duplicate metadata section", Build("{\"__metadata__\":{},\"__metadata__\":{}}", []), "duplicate key '__metadata__'" },
        { "duplicate tensor key", Build($"{{\"a\":{Entry("F32", "[1]", 0, 4)},\"a\":{Entry("F32", "[1]", 4, 8)}}}", new byte[8]), "duplicate key 'a'" },
        { "duplicate key via escape", Build($"{{\"a\":{Entry("F32", "[1]", 0, 4)},\"\\u0061\":{Entry("F32", "[1]", 4, 8)}}}", new byte[8]), "duplicate key 'a'" },
        { "lone surrogate escape", Build($"{{\"\\ud800\":{Entry("U8", "[0]", 0, 0)}}}", []), "not a valid string" },
    };

    [Theory]
    [MemberData(nameof(HostileFiles))]
    public void RefusesHostileFiles(string @case, byte[] bytes, string problem)
    {
        string path = PathOf("hostile.safetensors");
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(path));

        Assert.True(error.Message.Contains(problem, StringComparison.Ordinal), $"{@case}: message lacks \"{problem}\": {error.Message}");
        Assert.Contains(path, error.Message);
        Assert.Equal(path, error.SourceName);
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain('\r', error.Message);
        Assert.IsAssignableFrom<IOException>(error);
    }

    [Fact]
    public void DetectsAFileTruncatedInsideTheDataWhenItIsOpened()
    {
        string path = PathOf("truncated.safetensors");
        byte[] whole = PythonStyleFile();
        File.WriteAllBytes(path, whole[..^5]);

        var error = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(path));

        Assert.Contains("past the end of the data", error.Message);
    }

    [Fact]
    public void RefusesABoolByteOtherThanZeroOrOneWhenTheTensorIsRead()
    {
        string path = PathOf("bool.safetensors");
        File.WriteAllBytes(path, Build($"{{\"m\":{Entry("BOOL", "[3]", 0, 3)},\"x\":{Entry("U8", "[1]", 3, 4)}}}", [1, 2, 0, 7]));

        // The data is checked as it is read, so the header opens and the other tensors stay readable.
        using SafeTensorsFile file = SafeTensors.Read(path);
        var error = Assert.Throws<SafeTensorsFormatException>(() => file.Get("m"));
        using Tensor x = file.Get("x");

        Assert.Contains("tensor 'm': BOOL element 1 is byte 2, not 0 or 1", error.Message);
        Assert.Equal(path, error.SourceName);
        Assert.Equal((byte)7, x.item<byte>());
    }

    [Fact]
    public void HostileNamesCannotBreakTheMessageLine()
    {
        string path = PathOf("name.safetensors");
        File.WriteAllBytes(path, Build("{\"bad\\nname\\u2028x\":{\"shape\":[0],\"data_offsets\":[0,0]}}", []));

        var error = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(path));

        Assert.Contains(@"tensor 'bad\u000aname\u2028x': missing field 'dtype'", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain('\u2028', error.Message);
    }

    // ---------------------------------------------------------------- writer contract and atomicity

    [Fact]
    public void WriteToAMissingFolderFailsAndLeavesNothing()
    {
        string missing = PathOf("missing");
        using Tensor t = ones(2);

        Assert.Throws<DirectoryNotFoundException>(() =>
            SafeTensors.Write(Path.Combine(missing, "x.safetensors"), new Dictionary<string, Tensor> { ["x"] = t }));

        Assert.False(Directory.Exists(missing));
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }

    [Fact]
    public void ReplacesAnExistingFileWhenTheWriteSucceeds()
    {
        string path = PathOf("model.safetensors");
        using Tensor first = ones(2), second = arange(3, dtype: ScalarType.Int64);
        SafeTensors.Write(path, new Dictionary<string, Tensor> { ["first"] = first });

        SafeTensors.Write(path, new Dictionary<string, Tensor> { ["second"] = second });

        using (SafeTensorsFile file = SafeTensors.Read(path))
            Assert.Equal(["second"], file.Keys);
        Assert.Equal([path], Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public void KeepsTheExistingFileWhenTheWriteIsRefused()
    {
        string path = PathOf("model.safetensors");
        using Tensor good = ones(2), complex = zeros(2, dtype: ScalarType.ComplexFloat32);
        SafeTensors.Write(path, new Dictionary<string, Tensor> { ["good"] = good });
        byte[] before = File.ReadAllBytes(path);

        var error = Assert.Throws<ArgumentException>(() =>
            SafeTensors.Write(path, new Dictionary<string, Tensor> { ["good"] = good, ["complex"] = complex }));

        Assert.Contains("'complex'", error.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public void KeepsTheExistingFileWhenWritingFailsHalfway()
    {
        string path = PathOf("model.safetensors");
        File.WriteAllText(path, "old contents");

        var error = Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[100_000]);
            throw new IOException("disk full");
        }));

        Assert.Equal("disk full", error.Message);
        Assert.Equal("old contents", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public void WritingOverAFolderFailsAndLeavesNoTemporaryFile()
    {
        string target = PathOf("taken");
        Directory.CreateDirectory(target);
        using Tensor t = ones(2);

        Assert.ThrowsAny<IOException>(() => SafeTensors.Write(target, new Dictionary<string, Tensor> { ["x"] = t }));

        Assert.True(Directory.Exists(target));
        Assert.Equal([target], Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public void RefusesTheReservedMetadataName()
    {
        using Tensor t = ones(1);
        var error = Assert.Throws<ArgumentException>(() =>
            SafeTensors.Write(PathOf("x.safetensors"), new Dictionary<string, Tensor> { ["__metadata__"] = t }));
        Assert.Contains("reserved", error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>A tensor of the given shape filled with random bytes (0 or 1 for BOOL), so every bit pattern is exercised.</summary>
    private static Tensor RandomTensor(long[] shape, ScalarType dtype, int seed)
    {
        Tensor tensor = empty(shape, dtype);
        if (tensor.numel() == 0) return tensor;
        byte[] bytes = new byte[tensor.numel() * tensor.element_size()];
        new Random(seed).NextBytes(bytes);
        if (dtype == ScalarType.Bool)
            for (int i = 0; i < bytes.Length; i++) bytes[i] &= 1;
        tensor.bytes = bytes;
        return tensor;
    }

    private static byte[] BytesOf(Tensor tensor) => tensor.numel() == 0 ? [] : tensor.bytes.ToArray();

    private static byte[] Build(string header, byte[] data) => Build(Encoding.UTF8.GetBytes(header), data);

    /// <summary>A file from a header and data: the 8-byte little-endian length, the header (space-padded to 8), the data.</summary>
    private static byte[] Build(byte[] header, byte[] data, bool pad = true)
    {
        int padding = pad ? (8 - header.Length % 8) % 8 : 0;
        byte[] paddedHeader = [.. header, .. Enumerable.Repeat((byte)' ', padding)];
        return [.. Prefixed((ulong)paddedHeader.Length, ""), .. paddedHeader, .. data];
    }

    /// <summary>An 8-byte little-endian length that may lie, followed by <paramref name="rest"/>.</summary>
    private static byte[] Prefixed(ulong declaredLength, string rest)
    {
        byte[] prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, declaredLength);
        return [.. prefix, .. Encoding.UTF8.GetBytes(rest)];
    }

    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }
}
