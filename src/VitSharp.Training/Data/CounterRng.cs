namespace VitSharp.Training.Data;

/// <summary>
/// A counter-based random stream: the n-th draw is SplitMix64's finaliser of (key, n), so a stream is fixed by its key
/// alone. Keys are derived from (seed, epoch, purpose, index), which makes every augmentation decision independent of
/// which thread makes it, when, and in what order: the basis of the loader's determinism.
/// </summary>
internal struct CounterRng
{
    private readonly ulong _key;
    private ulong _counter;

    private CounterRng(ulong key) => _key = key;

    /// <summary>The stream for one decision site: <paramref name="purpose"/> separates uses (order, per-sample, per-batch) with equal indices.</summary>
    public static CounterRng For(int seed, int epoch, Purpose purpose, long index) =>
        new(Mix(Mix(Mix((ulong)(uint)seed ^ 0x5EED_0000_0000_0000UL) ^ (ulong)(uint)epoch) ^ (ulong)purpose << 32 ^ (ulong)index));

    public ulong NextUInt64() => Mix(_key + ++_counter * 0x9E3779B97F4A7C15UL);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>Uniform integer in [low, high) (NumPy's <c>randint</c> convention); the 64-bit multiply keeps the bias below 2^-32.</summary>
    public int Next(int low, int high)
    {
        if (high <= low) throw new ArgumentOutOfRangeException(nameof(high), $"empty range [{low}, {high})");
        return low + (int)Math.BigMul(NextUInt64(), (ulong)(high - low), out _);
    }

    /// <summary>Standard normal by Box–Muller; the second value of the pair is not kept, so the struct holds no state but its counter.</summary>
    public double Normal()
    {
        double u = 1.0 - NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2.0 * Math.PI * NextDouble());
    }

    /// <summary>Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).</summary>
    public double Beta(double a, double b)
    {
        double x = Gamma(a), y = Gamma(b);
        return x / (x + y);
    }

    /// <summary>Gamma(shape, 1) by Marsaglia and Tsang; shapes below 1 use the boost Gamma(shape + 1) * U^(1 / shape).</summary>
    public double Gamma(double shape)
    {
        if (shape <= 0) throw new ArgumentOutOfRangeException(nameof(shape), "the gamma shape must be positive");
        if (shape < 1) return Gamma(shape + 1) * Math.Pow(1.0 - NextDouble(), 1.0 / shape);
        double d = shape - 1.0 / 3.0, c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Normal();
                v = 1.0 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double u = NextDouble();
            if (u < 1.0 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1.0 - v + Math.Log(v)))
                return d * v;
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    internal enum Purpose : uint
    {
        Order = 1,
        Sample = 2,
        Batch = 3,
        Resolution = 4,
        Zoom = 5,
    }
}
