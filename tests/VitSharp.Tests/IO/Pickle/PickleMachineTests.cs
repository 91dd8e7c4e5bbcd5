using System.Numerics;
using VitSharp.IO.Pickle;

namespace VitSharp.Tests.IO.Pickle;

/// <summary>The pickle machine alone, on plain data pickled by CPython in protocols 2 to 5 and on hand-made opcodes.</summary>
public sealed class PickleMachineTests
{
    private static object? Load(byte[] pickle) =>
        PickleMachine.Load(new PickleInput(new MemoryStream(pickle)), _ => throw new InvalidOperationException("no persistent ids here"));

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void ReadsEveryPlainValueKindPythonWrites(int protocol)
    {
        var dict = Assert.IsType<PyDict>(Load(File.ReadAllBytes(Fixtures.Path_("pickle", $"plain_p{protocol}.pkl"))));

        Assert.Equal(
            ["none", "true", "false", "small", "negative", "int32", "big", "huge_negative", "float", "text", "bytes", "tuple", "list", "nested", "shared", "set", "frozenset"],
            dict.Entries.Select(e => e.Key));
        Assert.Null(dict.Get("none"));
        Assert.Equal(true, dict.Get("true"));
        Assert.Equal(false, dict.Get("false"));
        Assert.Equal(7L, dict.Get("small"));
        Assert.Equal(-300L, dict.Get("negative"));
        Assert.Equal(2147483647L, dict.Get("int32"));
        Assert.Equal(1L << 40, dict.Get("big"));
        Assert.Equal(-(1L << 62), dict.Get("huge_negative"));
        Assert.Equal(1.5, dict.Get("float"));
        Assert.Equal("h\u00e9llo \u2603", dict.Get("text"));
        Assert.Equal(new byte[] { 0, 1, 255 }, dict.Get("bytes"));
        Assert.Equal([1L, 2L, 3L], Assert.IsType<PyTuple>(dict.Get("tuple")).Items);
        var list = Assert.IsType<PyList>(dict.Get("list")).Items;
        Assert.Equal(1L, list[0]);
        Assert.Equal("a", list[1]);
        Assert.Empty(Assert.IsType<PyList>(list[2]).Items);
        Assert.Empty(Assert.IsType<PyTuple>(list[3]).Items);
        var nested = Assert.IsType<PyDict>(dict.Get("nested"));
        Assert.Equal(["x", 3L], nested.Entries.Select(e => e.Key));
        Assert.Null(Assert.IsType<PyDict>(Assert.IsType<PyList>(nested.Get("x")).Items[0]).Get("y"));
        Assert.Equal(["same", "same"], Assert.IsType<PyList>(dict.Get("shared")).Items);
        Assert.Equal([5L], Assert.IsType<PySet>(dict.Get("set")).Items);
        Assert.Equal(["f"], Assert.IsType<PySet>(dict.Get("frozenset")).Items);
    }

    [Fact]
    public void KeepsIntegersBeyondInt64AsBigIntegers()
    {
        // LONG1 with 9 bytes: 2**64, as the legacy format's 80-bit magic number needs.
        byte[] pickle = [0x80, 2, 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, (byte)'.'];
        Assert.Equal(BigInteger.One << 64, Load(pickle));
    }

    [Fact]
    public void SettingAnExistingKeyReplacesItsValueInPlace()
    {
        byte[] pickle = CheckpointBytes.Opcodes((byte)0x80, (byte)2, "}(", CheckpointBytes.Str("a"), "K\x01", CheckpointBytes.Str("b"), "K\x02",
            CheckpointBytes.Str("a"), "K\x03u.");
        var dict = Assert.IsType<PyDict>(Load(pickle));
        Assert.Equal([new KeyValuePair<object?, object?>("a", 3L), new("b", 2L)], dict.Entries);
    }
}
