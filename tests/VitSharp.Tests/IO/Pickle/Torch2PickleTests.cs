using VitSharp.IO.Pickle;
using static TorchSharp.torch;
using static VitSharp.Tests.IO.Pickle.CheckpointBytes;

namespace VitSharp.Tests.IO.Pickle;

/// <summary>
/// What torch 2.x writes that Debian's torch 1.13 cannot produce as a fixture, crafted opcode by opcode:
/// dtype constants as globals, untyped storages, the 7-argument _rebuild_tensor_v2 and parameters with state.
/// </summary>
public sealed class Torch2PickleTests
{
    private static PyTorchCheckpoint Open(byte[] dataPkl, params (string Name, byte[] Data)[] records) =>
        PyTorchCheckpoint.Open(new MemoryStream(Zip(dataPkl, records)), "torch2.pth");

    [Fact]
    public void DTypeGlobalsAreListedAsDTypes()
    {
        using var checkpoint = Open(Opcodes((byte)0x80, (byte)2, "}(", Str("dtype"), "ctorch\nbfloat16\n", Str("half"), "ctorch\nhalf\nu."));
        Assert.Empty(checkpoint.Tensors);
        Assert.Equal(["dtype: torch.dtype", "half: torch.dtype"], checkpoint.NonTensorEntries);
    }

    [Fact]
    public void UntypedStorageIsReadAsBytesAndMetadataArgumentIsAccepted()
    {
        byte[] pickle = Opcodes((byte)0x80, (byte)2, "}", Str("raw"),
            "ctorch._utils\n_rebuild_tensor_v2\n",
            "((", Str("storage"), "ctorch.storage\nUntypedStorage\n", Str("0"), Str("cpu"), Long(6), "tQ",
            Long(1), "(", Long(2), Long(2), "t(", Long(1), Long(3), "t", (byte)0x89, "ccollections\nOrderedDict\n)R}t", "R",
            "s.");
        using var checkpoint = Open(pickle, ("data/0", [10, 11, 12, 13, 14, 15]));

        var stored = Assert.Single(checkpoint.Tensors);
        Assert.Equal(ScalarType.Byte, stored.DType);
        using Tensor tensor = stored.Read();
        // offset 1, size [2, 2], stride [1, 3] over [10..15]: [[11, 14], [12, 15]]
        Assert.Equal(new byte[] { 11, 14, 12, 15 }, tensor.data<byte>().ToArray());
    }

    [Fact]
    public void ParameterWithStateIsItsData()
    {
        byte[] pickle = Opcodes((byte)0x80, (byte)2, "}", Str("p"),
            "ctorch._utils\n_rebuild_parameter_with_state\n(", TensorCall(4, 0, [4], [1]), (byte)0x88, "ccollections\nOrderedDict\n)R}t", "R",
            "s.");
        using var checkpoint = Open(pickle, ("data/0", new byte[16]));
        Assert.Equal("p", Assert.Single(checkpoint.Tensors).Name);
    }

    [Fact]
    public void ByteOrderAndExtraRecordsOfNewerTorchAreAccepted()
    {
        using var checkpoint = Open(TensorPickle(4, 0, [4], [1]),
            ("data/0", new byte[16]), ("byteorder", "little"u8.ToArray()), (".data/serialization_id", "1234"u8.ToArray()));
        Assert.Equal("w", Assert.Single(checkpoint.Tensors).Name);
    }
}
