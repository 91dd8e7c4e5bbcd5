using Microsoft.Win32.SafeHandles;

namespace VitSharp.IO;

/// <summary>
/// The bytes of an open safetensors file, read by absolute position so that several threads can read different
/// tensors at once without sharing a file position.
/// </summary>
internal abstract class SafeTensorsSource : IDisposable
{
    /// <summary>The length of the file, fixed when it was opened.</summary>
    public abstract long Length { get; }

    /// <summary>Fills as much of <paramref name="destination"/> as the file has at <paramref name="offset"/>; returns the count read.</summary>
    public int ReadAt(long offset, Span<byte> destination)
    {
        int total = 0;
        while (total < destination.Length)
        {
            int read = ReadSome(offset + total, destination[total..]);
            // 0 means the end of the file; a file shortened after it was opened ends early.
            if (read == 0) break;
            total += read;
        }
        return total;
    }

    /// <summary>Reads at most <paramref name="destination"/>.Length bytes at <paramref name="offset"/>; 0 at the end.</summary>
    protected abstract int ReadSome(long offset, Span<byte> destination);

    public abstract void Dispose();

    /// <summary>Opens the file at <paramref name="path"/> for shared reading.</summary>
    public static SafeTensorsSource Open(string path) => new FileSource(path);

    /// <summary>
    /// Reads from <paramref name="stream"/> from its current position. A seekable stream is read in place and must
    /// stay open until the source is disposed; a non-seekable one is copied to memory first, as it cannot be revisited.
    /// </summary>
    public static SafeTensorsSource Over(Stream stream)
    {
        if (stream.CanSeek) return new StreamSource(stream, stream.Position, ownsStream: false);
        var copy = new MemoryStream();
        stream.CopyTo(copy);
        return new StreamSource(copy, start: 0, ownsStream: true);
    }

    /// <summary>A file read with <see cref="RandomAccess"/>, which is thread-safe and keeps no position.</summary>
    private sealed class FileSource : SafeTensorsSource
    {
        private readonly SafeFileHandle handle;

        public FileSource(string path)
        {
            // SequentialScan asks the OS for generous read-ahead: loaders read tensors mostly in data order.
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
            try
            {
                Length = RandomAccess.GetLength(handle);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }

        public override long Length { get; }

        protected override int ReadSome(long offset, Span<byte> destination) => RandomAccess.Read(handle, destination, offset);

        public override void Dispose() => handle.Dispose();
    }

    /// <summary>A seekable stream; a stream has one position, so reads take turns.</summary>
    private sealed class StreamSource(Stream stream, long start, bool ownsStream) : SafeTensorsSource
    {
        // A position past the end leaves nothing to read, like an empty file.
        public override long Length { get; } = Math.Max(0, stream.Length - start);

        protected override int ReadSome(long offset, Span<byte> destination)
        {
            lock (stream)
            {
                stream.Position = start + offset;
                return stream.Read(destination);
            }
        }

        public override void Dispose()
        {
            if (ownsStream) stream.Dispose();
        }
    }
}
