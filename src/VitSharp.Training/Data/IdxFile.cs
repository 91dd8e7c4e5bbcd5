using System.Buffers.Binary;
using System.IO.Compression;
using VitSharp.IO;

namespace VitSharp.Training.Data;

/// <summary>
/// Reads unsigned-byte IDX files (LeCun's MNIST format, also Fashion-MNIST's): a magic number <c>00 00 08 D</c>
/// (two zero bytes, type 0x08 = ubyte, D dimensions), D big-endian int32 sizes, then the bytes in row-major order.
/// Gzip'd files are recognised by their own magic bytes, not by the name.
/// </summary>
internal static class IdxFile
{
    private const byte UnsignedByte = 0x08;

    /// <summary>Caps a header's claim so a corrupt size cannot ask for more memory than any real IDX file needs.</summary>
    private const long MaxDataBytes = 1L << 31;

    public static (int[] Shape, byte[] Data) Read(string path, int dimensions)
    {
        if (InputFile.Problem(path) is { } problem) throw new IdxFormatException(path, problem);
        if (!File.Exists(path)) throw new IdxFormatException(path, "the file does not exist");
        try
        {
            using var stream = File.OpenRead(path);
            return Read(stream, path, dimensions);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not IdxFormatException)
        {
            throw new IdxFormatException(path, e.Message, e);
        }
    }

    /// <summary>Reads an IDX file of <paramref name="dimensions"/> dimensions from a stream (raw or gzip'd); <paramref name="name"/> names it in errors.</summary>
    public static (int[] Shape, byte[] Data) Read(Stream stream, string name, int dimensions)
    {
        // The gzip test peeks at two bytes and rewinds, which needs a seekable stream (files and resources are).
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }
        Span<byte> start = stackalloc byte[2];
        int got = stream.ReadAtLeast(start, 2, throwOnEndOfStream: false);
        stream.Seek(-got, SeekOrigin.Current);
        bool gzip = got == 2 && start[0] == 0x1f && start[1] == 0x8b;
        try
        {
            if (!gzip) return ReadContent(stream, name, dimensions);
            using var content = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            return ReadContent(content, name, dimensions);
        }
        catch (InvalidDataException e)
        {
            throw new IdxFormatException(name, $"the gzip data is corrupt ({e.Message})", e);
        }
    }

    private static (int[] Shape, byte[] Data) ReadContent(Stream content, string name, int dimensions)
    {
        var header = new byte[4 + 4 * dimensions];
        int got = content.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (got < 4) throw new IdxFormatException(name, $"the file has {got} bytes, too few for the 4-byte magic number");
        if (header[0] != 0 || header[1] != 0)
            throw new IdxFormatException(name, $"the magic number {Convert.ToHexString(header, 0, 4)} does not start with two zero bytes");
        if (header[2] != UnsignedByte)
            throw new IdxFormatException(name, $"the data type 0x{header[2]:X2} is not unsigned byte (0x08)");
        if (header[3] != dimensions)
            throw new IdxFormatException(name, $"the file has {header[3]} dimensions, expected {dimensions}");
        if (got < header.Length) throw new IdxFormatException(name, "the header is truncated");

        var shape = new int[dimensions];
        long total = 1;
        for (int d = 0; d < dimensions; d++)
        {
            int size = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4 + 4 * d));
            if (size <= 0) throw new IdxFormatException(name, $"dimension {d} has size {size}");
            shape[d] = size;
            total *= size;
            if (total > MaxDataBytes) throw new IdxFormatException(name, $"the header claims more than {MaxDataBytes} bytes of data");
        }

        var data = new byte[total];
        got = content.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (got < data.Length)
            throw new IdxFormatException(name, $"the file is truncated: the header gives {string.Join('x', shape)} = {data.Length} bytes of data, the file holds {got}");
        if (content.ReadByte() >= 0)
            throw new IdxFormatException(name, $"the file has bytes after the {string.Join('x', shape)} data its header gives");
        return (shape, data);
    }
}
