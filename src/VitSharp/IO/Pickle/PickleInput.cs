using System.Buffers.Binary;

namespace VitSharp.IO.Pickle;

/// <summary>
/// Reads a pickle from a seekable stream, starting at its current position, with its own buffer so the exact
/// position after STOP is known (the legacy format puts pickles and raw storages one after another). Every length
/// read from the pickle is checked against the bytes actually left in the stream before anything is allocated.
/// </summary>
internal sealed class PickleInput
{
    private const int BufferSize = 64 * 1024;

    private readonly Stream stream;
    private readonly long end;
    private readonly byte[] buffer;
    private int bufferStart;
    private int bufferEnd;

    public PickleInput(Stream stream)
    {
        this.stream = stream;
        Position = stream.Position;
        end = stream.Length;
        buffer = new byte[(int)Math.Min(BufferSize, Math.Max(1, end - Position))];
    }

    /// <summary>The stream position of the next unread byte.</summary>
    public long Position { get; private set; }

    /// <summary>The bytes left in the stream, which bounds every length a pickle may declare.</summary>
    public long Remaining => end - Position;

    public byte ReadByte()
    {
        if (bufferStart == bufferEnd) Fill();
        Position++;
        return buffer[bufferStart++];
    }

    public byte[] ReadBytes(long count, string what)
    {
        if (count < 0 || count > Remaining)
            throw new CheckpointProblem($"the pickle is truncated: {what} declares {count} bytes but {Remaining} remain");
        var bytes = new byte[count];
        int done = 0;
        while (done < count)
        {
            if (bufferStart == bufferEnd) Fill();
            int take = (int)Math.Min(count - done, bufferEnd - bufferStart);
            buffer.AsSpan(bufferStart, take).CopyTo(bytes.AsSpan(done));
            bufferStart += take;
            done += take;
        }
        Position += count;
        return bytes;
    }

    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2, "a 2-byte argument"));

    public int ReadInt32() => BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4, "a 4-byte argument"));

    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4, "a 4-byte argument"));

    public long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(ReadBytes(8, "an 8-byte argument"));

    /// <summary>Reads a newline-terminated ASCII line (the text arguments of GLOBAL), at most <paramref name="maxLength"/> bytes.</summary>
    public string ReadLine(int maxLength)
    {
        var chars = new List<char>();
        while (true)
        {
            byte b = ReadByte();
            if (b == (byte)'\n') return new string(chars.ToArray());
            if (b is < 0x20 or > 0x7e || chars.Count == maxLength)
                throw new CheckpointProblem($"a GLOBAL name is not a line of at most {maxLength} printable ASCII characters");
            chars.Add((char)b);
        }
    }

    private void Fill()
    {
        if (Remaining <= 0) throw new CheckpointProblem("the pickle is truncated (it ends before its STOP opcode)");
        int read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, Remaining));
        if (read <= 0) throw new CheckpointProblem("the pickle is truncated (the stream ended early)");
        bufferStart = 0;
        bufferEnd = read;
    }
}
