using System.Collections.Concurrent;
using System.Diagnostics;
using static TorchSharp.torch;

namespace VitSharp.Native;

/// <summary>
/// Runs a packed product (<see cref="OneDnnPackedLinear"/>) with an odd number of rows on one row more, a zero row
/// dropped from the result, wherever that is faster on this machine. Which it is gets measured once per product shape,
/// dtype and thread count on its first calls, as <c>torch.backends.cudnn.benchmark</c> picks a convolution's algorithm.
/// <para>
/// <b>Why.</b> oneDNN's inner product handles some row counts badly. On an AMD EPYC with 2 threads (2026-11-28),
/// with the copy that makes the extra row counted:
/// <list type="bullet">
/// <item>ViT-S/16's fc2 (1536→384) ran at 365 GFLOP/s on 197 rows (224×224, batch 1) and 1.16× that on 198;</item>
/// <item>its proj (384→384) 1.13×; ViT-B/16's proj (768→768) 1.21–1.26× at 197 rows, and its fc2 (3072→768)
/// 1.13× at 281 rows (224×320);</item>
/// <item>elsewhere the extra row lost 2–8 %: ViT-S's qkv at 197 rows ran at 0.92×, and from 577 rows up no product
/// gained.</item>
/// </list>
/// No rule of shapes fitted those measurements, and none would carry over to another CPU, so each shape is timed.
/// Whole models at batch 1, medians of three alternating runs against the code before: ViT-S/16 +6 % at 224×224 and
/// +2 % at 224×320, ViT-B/16 +2 % and +4 %. In four fresh processes the timing chose the same for every layer that
/// gains clearly (ViT-S's fc2 and proj at 197 rows, ViT-B's proj at 197 and fc2 at 281) and varied only where the two
/// ways are within a few percent.
/// </para>
/// <para>
/// Either way the result is the same bit for bit: a row's output depends on that row alone, which a test checks. The
/// choice changes the speed, never the numbers.
/// </para>
/// </summary>
public static class PackedLinearRowPadding
{
    private readonly record struct Shape(long Rows, long In, long Out, bool Gelu, ScalarType DType, int Threads);

    private static readonly ConcurrentDictionary<Shape, Trial> Trials = new();

    /// <summary>
    /// <see cref="OneDnnPackedLinear.Forward"/> of <paramref name="x"/>, which has <paramref name="rows"/> rows (the
    /// product of all but its last dimension, which the caller knows; 0 when it does not, and then nothing is padded).
    /// </summary>
    public static Tensor Forward(Tensor x, long rows, Tensor packed, Tensor? bias, bool gelu = false)
    {
        if ((rows & 1) == 0) return OneDnnPackedLinear.Forward(x, packed, bias, gelu);
        var weightShape = packed.shape; // [out, in]; one call into libtorch, not two
        long outFeatures = weightShape[0], inFeatures = weightShape[1];
        var trial = Trials.GetOrAdd(new Shape(rows, inFeatures, outFeatures, gelu, x.dtype, get_num_threads()), _ => new Trial());
        bool padded = trial.NextIsPadded(out bool timed);
        if (!timed) return Run(padded, x, rows, inFeatures, outFeatures, packed, bias, gelu);
        long start = Stopwatch.GetTimestamp();
        var y = Run(padded, x, rows, inFeatures, outFeatures, packed, bias, gelu);
        trial.Record(padded, Stopwatch.GetElapsedTime(start));
        return y;
    }

    /// <summary>Whether a product of this shape has been timed and found faster on one more row (null: not decided yet).</summary>
    internal static bool? PadsRows(long rows, long inFeatures, long outFeatures, bool gelu, ScalarType dtype = ScalarType.Float32) =>
        Trials.TryGetValue(new Shape(rows, inFeatures, outFeatures, gelu, dtype, get_num_threads()), out var trial) ? trial.Padded : null;

    private static Tensor Run(bool padded, Tensor x, long rows, long inFeatures, long outFeatures, Tensor packed, Tensor? bias, bool gelu) =>
        padded ? OnOneMoreRow(x, rows, inFeatures, outFeatures, packed, bias, gelu) : OneDnnPackedLinear.Forward(x, packed, bias, gelu);

    /// <summary>The product of <paramref name="x"/> and a zero row after its <paramref name="rows"/> rows, without that row's result.</summary>
    internal static Tensor OnOneMoreRow(Tensor x, long rows, long inFeatures, long outFeatures, Tensor packed, Tensor? bias, bool gelu)
    {
        var outShape = x.shape;
        outShape[^1] = outFeatures;
        using var grown = nn.functional.pad(x.reshape(rows, inFeatures), [0, 0, 0, 1]);
        using var y = OneDnnPackedLinear.Forward(grown, packed, bias, gelu);
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
