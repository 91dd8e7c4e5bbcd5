using System.Collections.Concurrent;
using System.Diagnostics;
using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>
/// Runs a packed product (<see cref="OneDnnPackedLinear"/>) with an odd number of rows on one row more, a zero row
/// dropped from the result, wherever that is faster on this machine: oneDNN's inner product handles some row counts
/// badly (docs/kernels.md has the measurements). Which it is gets measured once per product shape, dtype and thread
/// count on its first calls, as <c>torch.backends.cudnn.benchmark</c> picks a convolution's algorithm, since no rule
/// of shapes fitted the measurements and none would carry over to another CPU. Each of the two row counts is a
/// signature of its own, checked against libtorch before it computes anything; the choice changes the speed, not
/// whether the answer is right.
/// </summary>
internal static class PackedLinearRowPadding
{
    private readonly record struct Shape(long Rows, long In, long Out, ScalarType DType, int Threads);

    private static readonly ConcurrentDictionary<Shape, Trial> Trials = new();

    /// <summary>
    /// <see cref="OneDnnPackedLinear.TryForward"/> of <paramref name="x"/>, which has <paramref name="rows"/> rows (the
    /// product of all but its last dimension, which the caller knows), on one row more where that was timed faster and
    /// that signature was checked too; null where the packed product does not serve <paramref name="rows"/> rows.
    /// </summary>
    public static Tensor? TryForward(Tensor x, long rows, PackedLinearWeight pack, Tensor? bias)
    {
        if ((rows & 1) == 0) return OneDnnPackedLinear.TryForward(x, rows, pack, bias);
        var shape = new Shape(rows, pack.InFeatures, pack.OutFeatures, pack.DType, pack.Threads);
        var trial = Trials.GetOrAdd(shape, _ => new Trial());
        bool padded = trial.NextIsPadded(out bool timed);
        long start = Stopwatch.GetTimestamp();
        var y = Run(padded, x, rows, pack, bias);
        if (y is null && padded)
        {
            trial.Refuse(); // one more row is a signature the kernel does not serve: stay on the rows given
            return OneDnnPackedLinear.TryForward(x, rows, pack, bias);
        }
        if (timed && y is not null) trial.Record(padded, Stopwatch.GetElapsedTime(start));
        return y;
    }

    /// <summary>Whether a product of this shape has been timed and found faster on one more row (null: not decided yet).</summary>
    internal static bool? PadsRows(long rows, long inFeatures, long outFeatures, ScalarType dtype = ScalarType.Float32) =>
        Trials.TryGetValue(new Shape(rows, inFeatures, outFeatures, dtype, get_num_threads()), out var trial) ? trial.Padded : null;

    private static Tensor? Run(bool padded, Tensor x, long rows, PackedLinearWeight pack, Tensor? bias) =>
        padded ? OnOneMoreRow(x, rows, pack, bias) : OneDnnPackedLinear.TryForward(x, rows, pack, bias);

    /// <summary>The product of <paramref name="x"/> and a zero row after its <paramref name="rows"/> rows, without that row's result.</summary>
    internal static Tensor? OnOneMoreRow(Tensor x, long rows, PackedLinearWeight pack, Tensor? bias)
    {
        var outShape = x.shape;
        outShape[^1] = pack.OutFeatures;
        using var grown = nn.functional.pad(x.reshape(rows, pack.InFeatures), [0, 0, 0, 1]);
        using var y = OneDnnPackedLinear.TryForward(grown, rows + 1, pack, bias);
        if (y is null) return null;
        using var kept = y.narrow(0, 0, rows); // the first rows of a contiguous result: contiguous, so the view is no copy
        return kept.view(outShape);
    }

    /// <summary>
    /// The timing of one shape. The two ways alternate from the first call. The first <see cref="UntimedCalls"/> are
    /// not timed: the first call of a shape builds oneDNN's kernel, and a model's first pass page-faults its activations
    /// in. With two untimed calls and five timed each way, ViT-S/16's fc2 at 197 rows (8–16 % faster padded) came out
    /// plain in two of three runs; with more calls, padded in every run. Then each way runs
    /// <see cref="TimedCallsEach"/> times, and the padded way is kept if its fastest call took less than
    /// <see cref="RequiredRatio"/> of the plain way's fastest. The fastest, because a busy machine only ever adds time.
    /// </summary>
    internal sealed class Trial
    {
        public const int UntimedCalls = 4;
        public const int TimedCallsEach = 6;

        /// <summary>The extra row must save at least 3 % to be kept: the copy allocates, and equal means plain.</summary>
        public const double RequiredRatio = 0.97;

        private readonly Lock gate = new();
        private int calls, plainRuns, paddedRuns;
        private TimeSpan plainBest = TimeSpan.MaxValue, paddedBest = TimeSpan.MaxValue;
        private volatile int decision; // 0 not yet, 1 plain, 2 padded

        /// <summary>The decision, or null while the shape is still being timed.</summary>
        public bool? Padded => decision switch { 0 => null, var d => d == 2 };

        /// <summary>Which way the next call goes, and whether it is to be timed and <see cref="Record"/>ed.</summary>
        public bool NextIsPadded(out bool timed)
        {
            int d = decision;
            if (d != 0)
            {
                timed = false;
                return d == 2;
            }
            int call = Interlocked.Increment(ref calls) - 1;
            timed = call >= UntimedCalls;
            return (call & 1) == 1;
        }

        /// <summary>Decides for the rows given, whatever the timings: the padded signature is refused.</summary>
        public void Refuse() => decision = 1;

        /// <summary>One timed call; decides once both ways have run <see cref="TimedCallsEach"/> times.</summary>
        public void Record(bool padded, TimeSpan elapsed)
        {
            lock (gate)
            {
                if (decision != 0) return;
                if (padded)
                {
                    paddedRuns++;
                    if (elapsed < paddedBest) paddedBest = elapsed;
                }
                else
                {
                    plainRuns++;
                    if (elapsed < plainBest) plainBest = elapsed;
                }
                if (plainRuns >= TimedCallsEach && paddedRuns >= TimedCallsEach)
                    decision = paddedBest.Ticks < RequiredRatio * plainBest.Ticks ? 2 : 1;
            }
        }
    }
}
