using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace VitSharp.Fuzz;

/// <summary>
/// Seeded random mutations of safetensors files: generic byte damage plus edits aimed at the format's weak
/// points (the header length, JSON numbers, dtype names). The same seed always gives the same inputs.
/// </summary>
public sealed class SafeTensorsMutator(int seed)
{
    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF, (byte)'"', (byte)'{', (byte)','];

    private static readonly string[] InterestingNumbers =
    [
        "0", "1", "-1", "2", "3", "8", "255", "256", "2147483647", "2147483648", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551615",
        "99999999999999999999", "1.5", "1e3", "-0", "00",
    ];

    private static readonly string[] DTypeNames = ["BOOL", "U8", "I8", "I16", "F16", "BF16", "I32", "F32", "F64", "I64", "F8_E4M3", "f32", ""];

    private readonly Random random = new(seed);

    /// <summary>Applies one to three mutations to a copy of <paramref name="original"/>.</summary>
    public byte[] Mutate(byte[] original)
    {
        byte[] bytes = original;
        for (int steps = random.Next(1, 4); steps > 0; steps--) bytes = MutateOnce(bytes);
        return bytes;
    }

    private byte[] MutateOnce(byte[] bytes) => random.Next(8) switch
    {
        0 => FlipBit(bytes),
        1 => SetInterestingByte(bytes),
        2 => Truncate(bytes),
        3 => RewriteHeaderLength(bytes),
        4 => EditHeader(bytes, EditNumber),
        5 => EditHeader(bytes, EditDType),
        6 => EditHeader(bytes, DeleteHeaderByte),
        _ => AppendBytes(bytes),
    };

    private byte[] FlipBit(byte[] bytes)
    {
        if (bytes.Length == 0) return bytes;
        byte[] copy = (byte[])bytes.Clone();
        copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
        return copy;
    }

    private byte[] SetInterestingByte(byte[] bytes)
    {
        if (bytes.Length == 0) return bytes;
        byte[] copy = (byte[])bytes.Clone();
        copy[random.Next(copy.Length)] = InterestingBytes[random.Next(InterestingBytes.Length)];
        return copy;
    }

    private byte[] Truncate(byte[] bytes) => bytes[..random.Next(bytes.Length + 1)];

    private byte[] AppendBytes(byte[] bytes)
    {
        byte[] extra = new byte[random.Next(1, 17)];
        random.NextBytes(extra);
        return [.. bytes, .. extra];
    }

    /// <summary>Lies about the header length: off by a little, past the file, or absurd.</summary>
    private byte[] RewriteHeaderLength(byte[] bytes)
    {
        if (bytes.Length < 8) return bytes;
        ulong actual = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        ulong[] choices =
        [
            0, 1, actual + 1, actual - 1, actual + 8, actual - 8, (ulong)bytes.Length - 8, (ulong)bytes.Length - 7,
            100_000_000, 100_000_001, uint.MaxValue, long.MaxValue, ulong.MaxValue, (ulong)random.NextInt64(),
        ];
        byte[] copy = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(copy, choices[random.Next(choices.Length)]);
        return copy;
    }

    /// <summary>
    /// Edits the JSON header as text and usually rewrites the length prefix to match, so the edit reaches the
    /// checks behind the length check instead of always tripping it.
    /// </summary>
    private byte[] EditHeader(byte[] bytes, Func<string, string> edit)
    {
        if (!TrySplit(bytes, out string header, out byte[] data)) return bytes;
        byte[] edited = Encoding.Latin1.GetBytes(edit(header));
        ulong declared = random.Next(4) == 0 ? (ulong)header.Length : (ulong)edited.Length;
        byte[] prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, declared);
        return [.. prefix, .. edited, .. data];
    }

    private string EditNumber(string header)
    {
        var numbers = FindRuns(header, c => char.IsAsciiDigit(c) || c == '-');
        if (numbers.Count == 0) return header;
        var (start, length) = numbers[random.Next(numbers.Count)];
        string replacement = random.Next(3) == 0
            ? random.NextInt64(-1, 1L << random.Next(1, 63)).ToString(CultureInfo.InvariantCulture)
            : InterestingNumbers[random.Next(InterestingNumbers.Length)];
        return string.Concat(header.AsSpan(0, start), replacement, header.AsSpan(start + length));
    }

    private string EditDType(string header)
    {
        string[] present = DTypeNames.Where(name => name.Length > 0 && header.Contains($"\"{name}\"", StringComparison.Ordinal)).ToArray();
        if (present.Length == 0) return header;
        string from = present[random.Next(present.Length)];
        string to = DTypeNames[random.Next(DTypeNames.Length)];
        return header.Replace($"\"{from}\"", $"\"{to}\"", StringComparison.Ordinal);
    }

    private string DeleteHeaderByte(string header) =>
        header.Length == 0 ? header : header.Remove(random.Next(header.Length), 1);

    /// <summary>Splits a file whose prefix is honest into its header (as Latin-1, so any bytes survive the round trip) and data.</summary>
    private static bool TrySplit(byte[] bytes, out string header, out byte[] data)
    {
        header = "";
        data = [];
        if (bytes.Length < 8) return false;
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (length > (ulong)(bytes.Length - 8)) return false;
        header = Encoding.Latin1.GetString(bytes, 8, (int)length);
        data = bytes[(8 + (int)length)..];
        return true;
    }

    private static List<(int Start, int Length)> FindRuns(string text, Func<char, bool> inRun)
    {
        var runs = new List<(int, int)>();
        for (int i = 0; i < text.Length;)
        {
            if (!inRun(text[i])) { i++; continue; }
            int start = i;
            while (i < text.Length && inRun(text[i])) i++;
            runs.Add((start, i - start));
        }
        return runs;
    }
}
