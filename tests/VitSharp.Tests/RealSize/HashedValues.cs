namespace VitSharp.Tests.RealSize;

/// <summary>
/// The values tools/fixtures/generate_realsize_fixtures.py hashes from a tensor's name and each element's index, bit for
/// bit: the real-size models' weights, inputs and image pixels are rebuilt here rather than committed (64 MB for a
/// depth-2 ViT-B/16). Every value is <c>k · scale / 32768 + offset</c> with an integer k and a power-of-two scale, so it
/// is exact in float32 in both languages.
/// </summary>
internal static class HashedValues
{
    private const long Modulus = 2147483647; // 2^31 - 1: every product below stays far inside a long

    public static uint Fnv1a32(string text)
    {
        uint hash = 0x811C9DC5;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(text))
            hash = unchecked((hash ^ b) * 0x01000193);
        return hash;
    }

    /// <summary>The generator's <c>hashed_ints</c>: integers in [0, 2^31 - 1) for elements 0 … count-1.</summary>
    public static long[] Ints(string name, long count)
    {
        long seed = Fnv1a32(name) % Modulus;
        var result = new long[count];
        for (long i = 0; i < count; i++)
        {
            long x = ((i + 1) * 48271 + seed) % Modulus;
            x ^= x >> 13;
            x = x * 69621 % Modulus;
            x ^= x >> 11;
            result[i] = x * 48271 % Modulus;
        }
        return result;
    }

    /// <summary>The generator's <c>hashed_values</c>, flattened in row-major order.</summary>
    public static float[] Values(string name, long count, double scale, double offset = 0)
    {
        long[] ints = Ints(name, count);
        float step = (float)(scale / 32768.0), shift = (float)offset;
        var values = new float[count];
        for (long i = 0; i < count; i++)
            values[i] = (float)((ints[i] & 0xFFFF) - 32768) * step + shift;
        return values;
    }

    /// <summary>The generator's <c>hashed_pixels</c>: height × width RGB bytes, row-major.</summary>
    public static byte[] Pixels(string name, int height, int width)
    {
        long[] ints = Ints(name, (long)height * width * 3);
        var pixels = new byte[ints.Length];
        for (long i = 0; i < ints.Length; i++) pixels[i] = (byte)(ints[i] & 0xFF);
        return pixels;
    }
}
