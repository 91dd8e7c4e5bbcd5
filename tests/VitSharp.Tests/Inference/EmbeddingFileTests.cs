using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using VitSharp.Inference;
using VitSharp.IO;
using static TorchSharp.torch;

namespace VitSharp.Tests.Inference;

public sealed class EmbeddingFileTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-embed-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    [Fact]
    public void Npy_is_numpy_format_1_0_float32_little_endian_with_a_files_sidecar()
    {
        string path = Path.Combine(work, "f.npy");
        using var features = arange(6, dtype: ScalarType.Float32).reshape(2, 3) / 4;
        EmbeddingFile.Write(path, features, ["a.png", "dir/b c.jpg"]);

        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        int dataStart = 10 + headerLength;
        Assert.Equal(0, dataStart % 64);
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header);
        Assert.EndsWith("\n", header);
        Assert.Equal(dataStart + 6 * 4, bytes.Length);
        float[] values = [.. Enumerable.Range(0, 6).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(dataStart + 4 * i)))];
        Assert.Equal(new[] { 0f, 0.25f, 0.5f, 0.75f, 1f, 1.25f }, values);
        Assert.Equal("a.png\ndir/b c.jpg\n", File.ReadAllText(Path.Combine(work, "f.files.txt")));
    }

    [Fact]
    public void Safetensors_holds_features_and_the_files_as_a_JSON_list()
    {
        string path = Path.Combine(work, "f.safetensors");
        using var features = randn(3, 5);
        EmbeddingFile.Write(path, features, ["x.png", "y.png", "z.png"]);

        using var file = SafeTensors.Read(path);
        Assert.Equal(["features"], file.Keys);
        Fixtures.AssertClose(file.Get("features"), features, "features", 0);
        Assert.Equal(["x.png", "y.png", "z.png"], JsonSerializer.Deserialize<string[]>(file.Metadata["files"])!);
    }

    [Fact]
    public void Mismatched_rows_and_unknown_extensions_are_refused_without_a_file()
    {
        using var features = zeros(2, 4);
        Assert.Throws<ArgumentException>(() => EmbeddingFile.Write(Path.Combine(work, "f.npy"), features, ["only-one.png"]));
        Assert.Throws<ArgumentException>(() => EmbeddingFile.Write(Path.Combine(work, "f.csv"), features, ["a", "b"]));
        Assert.Empty(Directory.GetFiles(work));
    }
}
