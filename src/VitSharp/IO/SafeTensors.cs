using static TorchSharp.torch;

namespace VitSharp.IO;

/// <summary>
/// Reads and writes the safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
/// header length, a JSON header, then the raw little-endian tensor data. Reading validates the file strictly
/// and reports any defect as a <see cref="SafeTensorsFormatException"/>; writing is atomic.
/// </summary>
/// <remarks>
/// Supported dtypes: F32, F16, BF16, F64, I64, I32, I16, I8, U8 and BOOL. Files are loaded into memory whole,
/// so a file must be smaller than 2 GiB.
/// </remarks>
public static class SafeTensors
{
    /// <summary>Reads and validates the safetensors file at <paramref name="path"/>.</summary>
    /// <exception cref="SafeTensorsFormatException">The file is not a valid safetensors file.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static SafeTensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return Read(stream, path);
    }

    /// <summary>
    /// Reads and validates a safetensors file from <paramref name="stream"/>, from its current position to its end.
    /// The stream is not closed.
    /// </summary>
    /// <param name="stream">The data.</param>
    /// <param name="sourceName">The name used in error messages; defaults to the file name of a <see cref="FileStream"/>, else "&lt;stream&gt;".</param>
    /// <exception cref="SafeTensorsFormatException">The data is not a valid safetensors file.</exception>
    public static SafeTensorsFile Read(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        EnsureLittleEndian();
        string source = sourceName ?? (stream as FileStream)?.Name ?? "<stream>";
        byte[] file = ReadToEnd(stream, source);
        return new SafeTensorsFile(source, file, SafeTensorsParser.Parse(file, source));
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/> in the layout Python's safetensors produces.
    /// The file is replaced atomically: on any failure the previous file (if any) is left untouched and no partial
    /// file remains. Tensors may be non-contiguous or on any device; they are not modified.
    /// </summary>
    /// <param name="path">The file to create or replace; its folder must exist.</param>
    /// <param name="tensors">Tensors by name. <c>__metadata__</c> is reserved.</param>
    /// <param name="metadata">Optional string metadata, stored as <c>__metadata__</c> (omitted when null or empty).</param>
    /// <exception cref="ArgumentException">A name is reserved, a tensor is null or sparse, or its dtype is unsupported.</exception>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        EnsureLittleEndian();
        SafeTensorsWriter.Write(path, tensors, metadata);
    }

    private static byte[] ReadToEnd(Stream stream, string source)
    {
        if (!stream.CanSeek)
        {
            // Unknown length: let the stream grow a buffer; memory follows the bytes actually present.
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }

        long remaining = stream.Length - stream.Position;
        if (remaining > Array.MaxLength)
            throw new NotSupportedException($"Safetensors file {Describe.Text(source)} is {remaining} bytes; files of 2 GiB or more are not supported yet.");
        byte[] file = new byte[remaining];
        stream.ReadExactly(file);
        return file;
    }

    /// <summary>The format is little-endian and tensor bytes are copied as they are, so a big-endian host would corrupt them.</summary>
    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Safetensors reading and writing needs a little-endian machine.");
    }
}
