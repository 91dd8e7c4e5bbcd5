using static TorchSharp.torch;

namespace VitSharp.IO;

/// <summary>
/// Reads and writes the safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
/// header length, a JSON header, then the raw little-endian tensor data. Reading validates the file strictly
/// and reports any defect as a <see cref="SafeTensorsFormatException"/>; writing is atomic.
/// </summary>
/// <remarks>
/// Supported dtypes: F32, F16, BF16, F64, I64, I32, I16, I8, U8 and BOOL. Reading opens the file and reads only
/// its header; each tensor's bytes are read from the file when the tensor is asked for, so there is no size limit
/// and memory holds only the tensors read.
/// </remarks>
public static class SafeTensors
{
    /// <summary>
    /// Opens the safetensors file at <paramref name="path"/> and validates its header. The file stays open, shared
    /// for reading, until the returned object is disposed.
    /// </summary>
    /// <exception cref="SafeTensorsFormatException">The file is not a valid safetensors file.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static SafeTensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        EnsureLittleEndian();
        return SafeTensorsFile.Open(SafeTensorsSource.Open(path), path);
    }

    /// <summary>
    /// Reads and validates a safetensors file from <paramref name="stream"/>, from its current position to its end.
    /// A seekable stream is read in place, by position, whenever a tensor is asked for: it must stay open and
    /// unchanged until the returned object is disposed, which does not close it. A non-seekable stream is copied
    /// to memory first (so it is limited to 2 GiB) and may be closed as soon as this returns.
    /// </summary>
    /// <param name="stream">The data.</param>
    /// <param name="sourceName">The name used in error messages; defaults to the file name of a <see cref="FileStream"/>, else "&lt;stream&gt;".</param>
    /// <exception cref="SafeTensorsFormatException">The data is not a valid safetensors file.</exception>
    public static SafeTensorsFile Read(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        EnsureLittleEndian();
        string source = sourceName ?? (stream as FileStream)?.Name ?? "<stream>";
        return SafeTensorsFile.Open(SafeTensorsSource.Over(stream), source);
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

    /// <summary>The format is little-endian and tensor bytes are copied as they are, so a big-endian host would corrupt them.</summary>
    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Safetensors reading and writing needs a little-endian machine.");
    }
}
