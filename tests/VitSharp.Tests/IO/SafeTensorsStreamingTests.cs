using System.Buffers.Binary;
using System.Text;
using VitSharp.IO;
using static TorchSharp.torch;

namespace VitSharp.Tests.IO;

/// <summary>Reading tensors from the open file on demand: lifetime, concurrency, large tensors, streams, and the checkpoint view.</summary>
public sealed class SafeTensorsStreamingTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("vitsharp-safetensors-stream-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string PathOf(string name) => Path.Combine(folder, name);

    /// <summary>Writes <paramref name="count"/> float tensors whose values identify them, and returns the path.</summary>
    private string WriteNumbered(int count, string name = "numbered.safetensors")
    {
        string path = PathOf(name);
        var tensors = Enumerable.Range(0, count).ToDictionary(i => $"t{i}", i => arange(i * 1000, i * 1000 + 100 + i, dtype: ScalarType.Float32));
        SafeTensors.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        foreach (Tensor t in tensors.Values) t.Dispose();
        return path;
    }

    private static float[] Expected(int i) => Enumerable.Range(i * 1000, 100 + i).Select(v => (float)v).ToArray();

    [Fact]
    public void GetAfterDisposeThrowsAndDisposeIsIdempotent()
    {
        string path = WriteNumbered(2);
        SafeTensorsFile file = SafeTensors.Read(path);
        StoredTensor stored = ((ICheckpointSource)file).Tensors[0];

        file.Dispose();
        file.Dispose();

        var error = Assert.Throws<ObjectDisposedException>(() => file.Get("t0"));
        Assert.Contains(path, error.Message);
        Assert.Throws<ObjectDisposedException>(() => stored.Read());
        Assert.Throws<ObjectDisposedException>(() => file.ToDictionary());
        // The header stays available: it was read when the file was opened.
        Assert.Equal(["t0", "t1"], file.Keys);
    }

    [Fact]
    public void ReadingATensorTwiceGivesTwoIndependentCopies()
    {
        string path = WriteNumbered(1);
        using SafeTensorsFile file = SafeTensors.Read(path);

        using Tensor first = file.Get("t0");
        first.fill_(-1);
        using Tensor second = file.Get("t0");

        Assert.Equal(Expected(0), second.data<float>().ToArray());
    }

    [Fact]
    public void SeveralThreadsCanReadAtOnce()
    {
        const int count = 16;
        string path = WriteNumbered(count);
        using SafeTensorsFile file = SafeTensors.Read(path);

        Assert.Empty(ReadConcurrently(file, count));
    }

    [Fact]
    public void SeveralThreadsCanReadFromOneSeekableStream()
    {
        const int count = 8;
        using var stream = new MemoryStream(File.ReadAllBytes(WriteNumbered(count)));
        using SafeTensorsFile file = SafeTensors.Read(stream, "memory");

        Assert.Empty(ReadConcurrently(file, count));
    }

    /// <summary>Reads each of the <paramref name="count"/> numbered tensors 20 times from 8 threads; returns the ones read wrong.</summary>
    private static System.Collections.Concurrent.ConcurrentBag<string> ReadConcurrently(SafeTensorsFile file, int count)
    {
        var mismatches = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, count * 20, new ParallelOptions { MaxDegreeOfParallelism = 8 }, n =>
        {
            int i = n % count;
            using Tensor t = file.Get($"t{i}");
            if (!t.data<float>().ToArray().SequenceEqual(Expected(i))) mismatches.Add($"t{i}");
        });
        return mismatches;
    }

    [Fact]
    public void DetectsAFileShortenedAfterItWasOpened()
    {
        string path = WriteNumbered(3);
        using SafeTensorsFile file = SafeTensors.Read(path);
        long cut = new FileInfo(path).Length - 10;
        using (var writer = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            writer.SetLength(cut);

        string last = file.Tensors.OrderBy(t => t.DataBegin).Last().Name;
        var error = Assert.Throws<SafeTensorsFormatException>(() => file.Get(last));

        Assert.Contains("shortened after it was opened", error.Message);
        Assert.Contains($"'{last}'", error.Message);
    }

    [Fact]
    public void ReadsASeekableStreamInPlaceFromItsPositionAndLeavesItOpen()
    {
        byte[] bytes = [0xAA, 0xBB, .. File.ReadAllBytes(WriteNumbered(2))];
        var stream = new MemoryStream(bytes) { Position = 2 };

        using (SafeTensorsFile file = SafeTensors.Read(stream, "offset"))
        {
            using Tensor t1 = file.Get("t1");
            Assert.Equal(Expected(1), t1.data<float>().ToArray());
        }

        Assert.True(stream.CanRead);
        stream.Dispose();
    }

    [Fact]
    public void CopiesANonSeekableStreamSoItCanBeClosedAtOnce()
    {
        var stream = new OneWayStream(File.ReadAllBytes(WriteNumbered(2)));
        using SafeTensorsFile file = SafeTensors.Read(stream, "pipe");
        stream.Dispose();

        using Tensor t0 = file.Get("t0");
        Assert.Equal(Expected(0), t0.data<float>().ToArray());
    }

    [Fact]
    public void ReadsTensorsLargerThanOneChunk()
    {
        // 64 MiB is the read chunk; this tensor spans two chunks and ends mid-chunk.
        byte[] pattern = new byte[(64L << 20) + 3];
        for (int i = 0; i < pattern.Length; i++) pattern[i] = (byte)(i % 251);
        string path = PathOf("large.safetensors");
        using (Tensor source = empty(pattern.Length, ScalarType.Byte))
        {
            pattern.CopyTo(source.bytes);
            SafeTensors.Write(path, new Dictionary<string, Tensor> { ["big"] = source });
        }

        using SafeTensorsFile file = SafeTensors.Read(path);
        using Tensor big = file.Get("big");

        Assert.True(big.bytes.SequenceEqual(pattern));
    }

    [Fact]
    public void ReportsABadBoolByteInALaterChunkByItsElementIndex()
    {
        long length = (64L << 20) + 100;
        long badElement = (64L << 20) + 7;
        string path = PathOf("bigbool.safetensors");
        WriteRaw(path, $"{{\"m\":{{\"dtype\":\"BOOL\",\"shape\":[{length}],\"data_offsets\":[0,{length}]}}}}", length, badElement, 2);

        using SafeTensorsFile file = SafeTensors.Read(path);
        var error = Assert.Throws<SafeTensorsFormatException>(() => file.Get("m"));

        Assert.Contains($"BOOL element {badElement} is byte 2", error.Message);
    }

    [Fact]
    public void IsACheckpointSource()
    {
        string path = WriteNumbered(3);
        using SafeTensorsFile file = SafeTensors.Read(path);
        ICheckpointSource checkpoint = file;

        Assert.Equal("safetensors", checkpoint.Format);
        Assert.Equal(path, checkpoint.SourceName);
        Assert.Equal("pt", checkpoint.Metadata["format"]);
        Assert.Empty(checkpoint.NonTensorEntries);
        Assert.Equal(file.Keys, checkpoint.Tensors.Select(t => t.Name));
        foreach (StoredTensor stored in checkpoint.Tensors)
        {
            int i = int.Parse(stored.Name[1..]);
            Assert.Equal(ScalarType.Float32, stored.DType);
            Assert.Equal([100L + i], stored.Shape);
            using Tensor t = stored.Read();
            Assert.Equal(Expected(i), t.data<float>().ToArray());
        }
    }

    /// <summary>Writes a header and <paramref name="dataLength"/> zero bytes, one of which is set to <paramref name="value"/>.</summary>
    private static void WriteRaw(string path, string header, long dataLength, long position, byte value)
    {
        byte[] json = Encoding.UTF8.GetBytes(header.PadRight((header.Length + 7) / 8 * 8));
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)json.Length);
        stream.Write(prefix);
        stream.Write(json);
        long dataStart = stream.Position;
        stream.SetLength(dataStart + dataLength);
        stream.Position = dataStart + position;
        stream.WriteByte(value);
    }

    private sealed class OneWayStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }
}
