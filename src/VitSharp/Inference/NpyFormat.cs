using System.Buffers.Binary;
using System.Text;
using VitSharp.IO;

namespace VitSharp.Inference;

/// <summary>Writes NumPy's <c>.npy</c> format version 1.0 for a float32 matrix, readable by <c>numpy.load</c>.</summary>
public static class NpyFormat
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];

    /// <summary>
    /// Writes <paramref name="values"/> (row-major, <paramref name="rows"/> x <paramref name="columns"/>) as
    /// little-endian float32, atomically: the file is complete or absent/unchanged.
    /// </summary>
    public static void WriteFloat32(string path, ReadOnlySpan<float> values, int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if ((long)rows * columns != values.Length)
            throw new ArgumentException($"{values.Length} values do not make a {rows} x {columns} matrix", nameof(values));

        byte[] header = Header(rows, columns);
        byte[] data = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * sizeof(float)), values[i]);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(header);
            stream.Write(data);
        });
    }

    /// <summary>Magic, version, header length and the header dict, padded with spaces so the data starts on a 64-byte boundary.</summary>
    internal static byte[] Header(int rows, int columns)
    {
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {columns}), }}";
        // Version 1.0 stores the header length in two bytes; the dict plus its newline is padded so that
        // magic (8) + length (2) + header is a multiple of 64, as numpy does.
        int unpadded = Magic.Length + 2 + dict.Length + 1;
        int padding = (64 - unpadded % 64) % 64;
        string text = dict + new string(' ', padding) + "\n";
        var header = new byte[Magic.Length + 2 + text.Length];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(Magic.Length), (ushort)text.Length);
        Encoding.ASCII.GetBytes(text, header.AsSpan(Magic.Length + 2));
        return header;
    }
}
