using System.IO.Compression;
using System.Text;

namespace VitSharp.Tests.IO.Pickle;

/// <summary>Builds checkpoint files in memory for tests: zips laid out like torch.save's, and pickle opcodes by hand.</summary>
internal static class CheckpointBytes
{
    /// <summary>A torch-style zip of stored records under <c>archive/</c>; a version record is added unless given.</summary>
    public static byte[] Zip(byte[] dataPkl, params (string Name, byte[] Data)[] records)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            var all = records.Prepend(("data.pkl", dataPkl)).ToList();
            if (!all.Any(r => r.Item1 == "version")) all.Add(("version", "3\n"u8.ToArray()));
            foreach (var (name, data) in all)
            {
                using var entry = zip.CreateEntry($"archive/{name}", CompressionLevel.NoCompression).Open();
                entry.Write(data);
            }
        }
        return buffer.ToArray();
    }

    /// <summary>Concatenates opcodes and arguments: strings as ASCII, bytes and byte arrays as they are.</summary>
    public static byte[] Opcodes(params object[] parts)
    {
        var bytes = new List<byte>();
        foreach (object part in parts)
        {
            switch (part)
            {
                case string text: bytes.AddRange(Encoding.ASCII.GetBytes(text)); break;
                case byte b: bytes.Add(b); break;
                case byte[] array: bytes.AddRange(array); break;
                case int i: bytes.AddRange(BitConverter.GetBytes(i)); break;
                default: throw new ArgumentException($"unsupported part {part}");
            }
        }
        return bytes.ToArray();
    }

    /// <summary>BINUNICODE: a str argument.</summary>
    public static byte[] Str(string text)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        return [(byte)'X', .. BitConverter.GetBytes(utf8.Length), .. utf8];
    }

    /// <summary>A protocol-2 pickle of <c>{"w": tensor}</c>, the tensor as in <see cref="TensorCall"/>.</summary>
    public static byte[] TensorPickle(long numel, long offset, long[] size, long[] stride) =>
        Opcodes((byte)0x80, (byte)2, "}", Str("w"), TensorCall(numel, offset, size, stride), "s.");

    /// <summary>Opcodes that push <c>_rebuild_tensor_v2(FloatStorage '0' of numel elements, offset, size, stride, False, OrderedDict())</c>.</summary>
    public static byte[] TensorCall(long numel, long offset, long[] size, long[] stride)
    {
        byte[] Ints(long[] values) => [(byte)'(', .. values.SelectMany(Long), (byte)'t'];
        return Opcodes(
            "ctorch._utils\n_rebuild_tensor_v2\n",
            "((", Str("storage"), "ctorch\nFloatStorage\n", Str("0"), Str("cpu"), Long(numel), "t", "Q",
            Long(offset), Ints(size), Ints(stride), (byte)0x89, "ccollections\nOrderedDict\n)R", "t", "R");
    }

    /// <summary>LONG1 holding <paramref name="value"/>.</summary>
    public static byte[] Long(long value) => [0x8a, 8, .. BitConverter.GetBytes(value)];
}
