using VitSharp.IO.Pickle;
using static VitSharp.Tests.IO.Pickle.CheckpointBytes;

namespace VitSharp.Tests.IO.Pickle;

/// <summary>Hostile and broken checkpoints: each is refused or rejected with one line that names the file and the problem.</summary>
public sealed class HostileCheckpointTests
{
    private static string PathOf(string name) => Fixtures.Path_("pickle", name);

    private static PyTorchCheckpointException OpenFails(string file)
    {
        var error = Assert.Throws<PyTorchCheckpointException>(() => PyTorchCheckpoint.Open(PathOf(file)).Dispose());
        Assert.DoesNotContain('\n', error.Message);
        Assert.Equal(PathOf(file), error.SourceName);
        return error;
    }

    private static PyTorchCheckpointException OpenFails(byte[] file)
    {
        var error = Assert.Throws<PyTorchCheckpointException>(() =>
        {
            using var checkpoint = PyTorchCheckpoint.Open(new MemoryStream(file), "crafted.pth");
            foreach (var tensor in checkpoint.Tensors) tensor.Read().Dispose();
        });
        Assert.DoesNotContain('\n', error.Message);
        return error;
    }

    [Fact]
    public void RefusesOsSystem()
    {
        var error = OpenFails("hostile_os_system.pth");
        Assert.True(error.Refused);
        Assert.Equal(
            $"Refused checkpoint '{PathOf("hostile_os_system.pth")}': the pickle asks for global 'os.system', which a state_dict never needs (loading never executes code).",
            error.Message);
    }

    [Fact]
    public void RefusesBuiltinsEvalNamedByStackGlobal()
    {
        var error = OpenFails("hostile_eval.pth");
        Assert.True(error.Refused);
        Assert.Contains("global 'builtins.eval'", error.Message);
    }

    [Theory]
    [InlineData("__builtin__", "getattr")]
    [InlineData("subprocess", "Popen")]
    [InlineData("torch", "load")]
    [InlineData("collections", "defaultdict")]
    [InlineData("numpy", "load")]
    public void RefusesEveryGlobalOutsideTheAllowlist(string module, string name)
    {
        var error = OpenFails(Zip(Opcodes((byte)0x80, (byte)2, $"c{module}\n{name}\n", ")R.")));
        Assert.True(error.Refused);
        Assert.Contains($"global '{module}.{name}'", error.Message);
    }

    [Theory]
    [InlineData("(ios\nsystem\n.", "INST")]
    [InlineData("()o.", "OBJ")]
    [InlineData("\x82\x01.", "EXT1")]
    [InlineData("P0\n.", "PERSID")]
    [InlineData("\x97.", "NEXTBUFFER")]
    [InlineData("I1\n.", "INT")]
    public void RefusesOpcodesAStateDictNeverNeeds(string opcodes, string name)
    {
        byte[] pickle = [0x80, 2, .. opcodes.Select(c => (byte)c)];
        var error = OpenFails(Zip(pickle));
        Assert.True(error.Refused);
        Assert.Contains($"opcode {name} ", error.Message);
    }

    [Fact]
    public void RejectsUnknownOpcodes()
    {
        var error = OpenFails(Zip([0x80, 2, 0xff, (byte)'.']));
        Assert.False(error.Refused);
        Assert.Contains("unknown pickle opcode 0xff at byte 2", error.Message);
    }

    [Fact]
    public void RefusesCallingAStorageClass()
    {
        var error = OpenFails(Zip(Opcodes((byte)0x80, (byte)2, "ctorch\nFloatStorage\n)R.")));
        Assert.Contains("'torch.FloatStorage', which a state_dict only names and never calls", error.Message);
    }

    [Fact]
    public void RejectsAMissingStorageRecordByName()
    {
        var error = OpenFails("missing_record.pth");
        Assert.Contains("record 'checkpoint/data/0' for storage '0' is missing from the zip archive", error.Message);
    }

    [Fact]
    public void RejectsATruncatedZip()
    {
        var error = OpenFails("truncated.pth");
        Assert.StartsWith($"Invalid PyTorch checkpoint '{PathOf("truncated.pth")}': it starts like a zip archive but is not a valid one", error.Message);
    }

    [Fact]
    public void RejectsATruncatedLegacyFileWhenOpening()
    {
        var error = OpenFails("truncated_legacy.pth");
        Assert.Contains("the file is truncated or corrupt: storage", error.Message);
    }

    [Fact]
    public void RejectsATensorReachingPastItsStorage()
    {
        var error = OpenFails("bad_geometry.pth");
        Assert.Contains("(offset 0, size [3, 3], stride [3, 1]) reaches element 8, past the storage's 4 elements", error.Message);
    }

    [Fact]
    public void RejectsAStorageRecordShorterThanDeclared()
    {
        var error = OpenFails("short_record.pth");
        Assert.Contains("record 'archive/data/0' holds 8 bytes but its storage declares 4 Float32 elements (16 bytes)", error.Message);
    }

    [Theory]
    [InlineData(new long[] { -1 }, new long[] { 1 }, 0, "negative offset, size or stride")]
    [InlineData(new long[] { 2 }, new long[] { -1 }, 1, "negative offset, size or stride")]
    [InlineData(new long[] { 2 }, new long[] { 1 }, -1, "negative offset, size or stride")]
    [InlineData(new long[] { 2, 2 }, new long[] { 1 }, 0, "2 sizes but 1 strides")]
    [InlineData(new long[] { long.MaxValue, 2 }, new long[] { 2, 1 }, 0, "overflows")]
    [InlineData(new long[] { 0, long.MaxValue, 4 }, new long[] { 1, 1, 1 }, 0, "overflows")]
    [InlineData(new long[] { 0 }, new long[] { 1 }, 5, "reaches element 5")]
    public void ValidatesGeometryBeforeAllocating(long[] size, long[] stride, long offset, string problem)
    {
        var error = OpenFails(Zip(TensorPickle(4, offset, size, stride), ("data/0", new byte[16])));
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void RejectsAStorageLargerThanTheFile()
    {
        var error = OpenFails(Zip(TensorPickle(1L << 40, 0, [2], [1]), ("data/0", new byte[16])));
        Assert.Contains("declares 1099511627776 elements of Float32, more than the", error.Message);
    }

    [Fact]
    public void RefusesBigEndianCheckpoints()
    {
        var error = OpenFails(Zip(TensorPickle(4, 0, [4], [1]), ("data/0", new byte[16]), ("byteorder", "big"u8.ToArray())));
        Assert.Contains("big-endian", error.Message);
    }

    [Fact]
    public void RefusesBigEndianLegacyFiles()
    {
        byte[] magic = [0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, (byte)'.'];
        byte[] version = [0x80, 2, (byte)'M', 0xe9, 0x03, (byte)'.'];
        byte[] sysInfo = Opcodes((byte)0x80, (byte)2, "}", Str("little_endian"), (byte)0x89, "s.");
        Assert.Contains("big-endian", OpenFails([.. magic, .. version, .. sysInfo]).Message);
    }

    [Fact]
    public void RejectsNestingDeeperThanTheLimit()
    {
        byte[] pickle = [0x80, 2, .. Enumerable.Repeat((byte)'(', PickleMachine.MaxNesting + 1), (byte)'.'];
        Assert.Contains("nests deeper than", OpenFails(Zip(pickle)).Message);
    }

    [Fact]
    public void RejectsAListThatContainsItself()
    {
        // l = []; l.append(l)
        var error = OpenFails(Zip(Opcodes((byte)0x80, (byte)2, "]q", (byte)0, "h", (byte)0, "a.")));
        Assert.Contains("nests containers deeper than", error.Message);
    }

    [Fact]
    public void RejectsSharedListsThatWouldExplodeWhenFlattened()
    {
        // l0 = []; l(i+1) = [l(i), l(i)] forty times: 2**40 paths from a pickle of a few hundred bytes.
        var parts = new List<object> { (byte)0x80, (byte)2, "]q", (byte)0, "0" };
        for (int i = 0; i < 40; i++) parts.AddRange(["](h", (byte)i, "h", (byte)i, "eq", (byte)(i + 1), "0"]);
        parts.AddRange(["h", (byte)40, "."]);
        var error = OpenFails(Zip(Opcodes([.. parts])));
        Assert.Contains("reference each other more than", error.Message);
    }

    [Fact]
    public void RejectsTwoTensorsWithTheSameFlattenedName()
    {
        // {"a.b": tensor, "a": {"b": tensor}} with the tensor memoized once.
        byte[] pickle = Opcodes((byte)0x80, (byte)2, "}", Str("a.b"), TensorCall(4, 0, [4], [1]), "q", (byte)0, "s",
            Str("a"), "}", Str("b"), "h", (byte)0, "ss.");
        Assert.Contains("two tensors have the same flattened name 'a.b'", OpenFails(Zip(pickle, ("data/0", new byte[16]))).Message);
    }

    [Fact]
    public void RejectsFilesThatAreNeitherFormat()
    {
        Assert.Contains("it is neither a zip archive nor a legacy torch.save file", OpenFails("GIF89a...."u8.ToArray()).Message);
        Assert.Contains("the file is empty", OpenFails([]).Message);
        Assert.Contains("legacy magic number is missing", OpenFails([0x80, 2, (byte)'K', 1, (byte)'.']).Message);
    }

    [Fact]
    public void RejectsAZipWithoutDataPkl()
    {
        using var buffer = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(buffer, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
            zip.CreateEntry("archive/version");
        var error = OpenFails(buffer.ToArray());
        Assert.Contains("no '<folder>/data.pkl' record", error.Message);
    }
}
