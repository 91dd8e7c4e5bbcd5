using System.Buffers.Binary;
using System.IO.Compression;
using VitSharp.Training.Data;

namespace VitSharp.Tests.Training.Data;

/// <summary>The IDX reader: headers, magic numbers, counts, gzip, and every way a file can be broken.</summary>
public class IdxFileTests
{
    private static byte[] Idx(byte type, int[] shape, int dataBytes)
    {
        var bytes = new byte[4 + 4 * shape.Length + dataBytes];
        bytes[2] = type;
        bytes[3] = (byte)shape.Length;
        for (int d = 0; d < shape.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), shape[d]);
        for (int i = 0; i < dataBytes; i++) bytes[4 + 4 * shape.Length + i] = (byte)(i * 7);
        return bytes;
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(raw);
        return memory.ToArray();
    }

    private static IdxFormatException Refused(byte[] file, int dimensions)
    {
        var e = Assert.Throws<IdxFormatException>(() => IdxFile.Read(new MemoryStream(file), "x.idx", dimensions));
        Assert.IsAssignableFrom<IOException>(e);
        Assert.StartsWith("Cannot read IDX file 'x.idx': ", e.Message);
        return e;
    }

    [Fact]
    public void Raw_and_gzipped_files_read_the_same()
    {
        var raw = Idx(0x08, [3, 2, 4], 24);
        var (shape, data) = IdxFile.Read(new MemoryStream(raw), "raw", 3);
        var (gzShape, gzData) = IdxFile.Read(new MemoryStream(Gzip(raw)), "gz", 3);
        Assert.Equal([3, 2, 4], shape);
        Assert.Equal(raw[16..], data);
        Assert.Equal(shape, gzShape);
        Assert.Equal(data, gzData);

        // A stream that cannot seek (here a decompressor handing out the raw file) reads the same too.
        using var unseekable = new GZipStream(new MemoryStream(Gzip(raw)), CompressionMode.Decompress);
        Assert.False(unseekable.CanSeek);
        Assert.Equal(data, IdxFile.Read(unseekable, "stream", 3).Data);
    }

    [Fact]
    public void A_wrong_magic_number_is_refused()
    {
        var file = Idx(0x08, [2], 2);
        file[0] = 0x12;
        Assert.Contains("two zero bytes", Refused(file, 1).Problem);
        Assert.Contains("not unsigned byte", Refused(Idx(0x0D, [2], 8), 1).Problem);
        Assert.Contains("3 dimensions, expected 1", Refused(Idx(0x08, [1, 1, 1], 1), 1).Problem);
    }

    [Fact]
    public void Truncated_files_say_how_much_is_missing()
    {
        var full = Idx(0x08, [10, 2, 2], 40);
        Assert.Contains("header gives 10x2x2 = 40 bytes of data, the file holds 30", Refused(full[..^10], 3).Problem);
        Assert.Contains("the file holds 30", Refused(Gzip(full[..^10]), 3).Problem);
        Assert.Contains("header is truncated", Refused(full[..9], 3).Problem);
        Assert.Contains("too few for the 4-byte magic", Refused([0, 0], 3).Problem);
    }

    [Fact]
    public void A_gzip_stream_cut_short_or_corrupt_is_an_idx_error()
    {
        var gz = Gzip(Idx(0x08, [100, 4, 4], 1600));
        Refused(gz[..(gz.Length / 2)], 3);
        var corrupt = (byte[])gz.Clone();
        for (int i = 12; i < 40; i++) corrupt[i] ^= 0x5A;
        Refused(corrupt, 3);
    }

    [Fact]
    public void Bad_sizes_and_trailing_bytes_are_refused()
    {
        Assert.Contains("dimension 1 has size 0", Refused(Idx(0x08, [3, 0], 0), 2).Problem);
        Assert.Contains("more than", Refused(Idx(0x08, [int.MaxValue, int.MaxValue], 0), 2).Problem);
        var extra = Idx(0x08, [2], 3);
        Assert.Contains("bytes after", Refused(extra, 1).Problem);
    }

    [Fact]
    public void Images_and_labels_of_different_counts_are_refused()
    {
        string folder = Directory.CreateTempSubdirectory("vitsharp-idx-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(folder, "t10k-images-idx3-ubyte"), Idx(0x08, [3, 28, 28], 3 * 784));
            File.WriteAllBytes(Path.Combine(folder, "t10k-labels-idx1-ubyte.gz"), Gzip(Idx(0x08, [2], 2)));
            var e = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(folder, "test"));
            Assert.Contains("3 images but 2 labels", e.Message);

            var labels = Idx(0x08, [3], 0).Concat(new byte[] { 1, 10, 2 }).ToArray();
            File.WriteAllBytes(Path.Combine(folder, "t10k-labels-idx1-ubyte.gz"), Gzip(labels));
            Assert.Contains("label 1 is 10", Assert.Throws<IdxFormatException>(() => FashionMnist.Load(folder, "test")).Message);

            File.Delete(Path.Combine(folder, "t10k-labels-idx1-ubyte.gz"));
            Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(folder, "test"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
