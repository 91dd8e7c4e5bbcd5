using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.Kernels;

/// <summary>
/// Multi-head self-attention, <c>softmax(q·kᵀ/√d)·v</c>, forward and backward, computed head by head in C# with
/// 256-bit vectors on the CPU, straight from the packed <c>qkv</c> projection <c>[B, N, 3·H·D]</c> (timm's layout:
/// <c>reshape(B, N, 3, H, D)</c>) into the context <c>[B, N, H·D]</c> that <c>proj</c> takes.
/// </summary>
/// <remarks>
/// Why it exists: with many small heads (the Fashion-MNIST models: 50 tokens, heads of 16) libtorch's attention
/// runs at a sixth of its matmul speed, because every one of the B·H tiny products pays a large-matrix call's
/// overhead, and the permutes around it copy q, k, v and the context. Here each head stays in cache from
/// <c>q·kᵀ</c> to the context, and the cores share the heads. The backward pass uses the probabilities kept by
/// the forward pass (as the explicit matmul path does) rather than recomputing them.
/// Only float32, contiguous CPU tensors and head widths that are a multiple of 8: <see cref="IsSupported"/>.
/// </remarks>
internal static class ManagedAttention
{
    /// <summary>Whether this kernel can run attention on <paramref name="qkv"/> with heads of <paramref name="headDim"/>.</summary>
    public static bool IsSupported(Tensor qkv, long headDim) =>
        Vector256.IsHardwareAccelerated && qkv.device_type == DeviceType.CPU && qkv.dtype == ScalarType.Float32 &&
        qkv.dim() == 3 && headDim % 8 == 0;

    /// <summary>
    /// The context <c>[B, N, H·D]</c>; with <paramref name="keepProbabilities"/>, also the probabilities
    /// <c>[B·H, N, padded N]</c> (zero beyond column N) that <see cref="Backward"/> needs.
    /// </summary>
    public static (Tensor Context, Tensor? Probabilities) Forward(Tensor qkv, int heads, bool keepProbabilities)
    {
        var shape = Shape.Of(qkv, heads);
        var context = empty(shape.Batch, shape.Tokens, shape.Width, dtype: ScalarType.Float32, device: qkv.device);
        var probabilities = keepProbabilities
            ? empty(shape.Count, shape.Tokens, shape.PaddedTokens, dtype: ScalarType.Float32, device: qkv.device)
            : null;
        int scratchSize = (shape.HeadDim + (keepProbabilities ? 0 : shape.Tokens)) * shape.PaddedTokens;
        ForEachHeadRange(shape, scratchSize, (first, end, scratch) =>
        {
            var qkvData = Floats(qkv);
            var contextData = Floats(context);
            var probabilityData = probabilities is null ? Span<float>.Empty : Floats(probabilities);
            for (int task = first; task < end; task++)
                ForwardHead(shape, task, qkvData, contextData, probabilityData, scratch);
        });
        return (context, probabilities);
    }

    /// <summary>The gradient of the packed <c>qkv</c>, from the context's gradient and the kept probabilities.</summary>
    public static Tensor Backward(Tensor qkv, Tensor probabilities, Tensor contextGrad, int heads)
    {
        var shape = Shape.Of(qkv, heads);
        if (!contextGrad.is_contiguous()) contextGrad = contextGrad.contiguous();
        var qkvGrad = empty_like(qkv);
        int scratchSize = (shape.HeadDim + 2 * shape.Tokens) * shape.PaddedTokens;
        ForEachHeadRange(shape, scratchSize, (first, end, scratch) =>
        {
            var qkvData = Floats(qkv);
            var probabilityData = Floats(probabilities);
            var gradData = Floats(contextGrad);
            var qkvGradData = Floats(qkvGrad);
            for (int task = first; task < end; task++)
                BackwardHead(shape, task, qkvData, probabilityData, gradData, qkvGradData, scratch);
        });
        return qkvGrad;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardHead(Shape s, int task, Span<float> qkv, Span<float> context, Span<float> kept, Span<float> scratch)
    {
        int image = task / s.Heads, head = task % s.Heads, np = s.PaddedTokens, n = s.Tokens, d = s.HeadDim;
        var keyT = scratch[..(d * np)];
        var scores = kept.IsEmpty ? scratch.Slice(d * np, n * np) : kept.Slice(task * n * np, n * np);
        Transpose(qkv[s.QkvOffset(image, head, 1)..], s.RowStride, keyT, np, n, d);
        SmallGemm.Multiply(ref At(qkv, s.QkvOffset(image, head, 0)), s.RowStride, ref At(keyT, 0), np,
            ref At(scores, 0), np, n, np, d, s.Scale);
        for (int i = 0; i < n; i++) SoftmaxRow(scores.Slice(i * np, np), n);
        SmallGemm.Multiply(ref At(scores, 0), np, ref At(qkv, s.QkvOffset(image, head, 2)), s.RowStride,
            ref At(context, s.ContextOffset(image, head)), s.Width, n, d, n, 1f);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardHead(Shape s, int task, Span<float> qkv, Span<float> kept, Span<float> grad, Span<float> qkvGrad, Span<float> scratch)
    {
        int image = task / s.Heads, head = task % s.Heads, np = s.PaddedTokens, n = s.Tokens, d = s.HeadDim;
        int q = s.QkvOffset(image, head, 0), k = s.QkvOffset(image, head, 1), v = s.QkvOffset(image, head, 2);
        int o = s.ContextOffset(image, head);
        var p = kept.Slice(task * n * np, n * np);
        var valueT = scratch[..(d * np)];
        var transposed = scratch.Slice(d * np, n * np);
        var scoreGrad = scratch.Slice(d * np + n * np, n * np);

        // dV = Pᵀ·dO
        Transpose(p, np, transposed, np, n, n);
        SmallGemm.Multiply(ref At(transposed, 0), np, ref At(grad, o), s.Width, ref At(qkvGrad, v), s.RowStride, n, d, n, 1f);

        // dP = dO·Vᵀ, then dS = P ∘ (dP − rowsum(P ∘ dP)); the padded columns of P are zero, so are those of dS.
        Transpose(qkv[v..], s.RowStride, valueT, np, n, d);
        SmallGemm.Multiply(ref At(grad, o), s.Width, ref At(valueT, 0), np, ref At(scoreGrad, 0), np, n, np, d, 1f);
        for (int i = 0; i < n; i++) SoftmaxGradRow(p.Slice(i * np, np), scoreGrad.Slice(i * np, np));

        // dQ = scale·dS·K and dK = scale·dSᵀ·Q
        SmallGemm.Multiply(ref At(scoreGrad, 0), np, ref At(qkv, k), s.RowStride, ref At(qkvGrad, q), s.RowStride, n, d, n, s.Scale);
        Transpose(scoreGrad, np, transposed, np, n, n);
        SmallGemm.Multiply(ref At(transposed, 0), np, ref At(qkv, q), s.RowStride, ref At(qkvGrad, k), s.RowStride, n, d, n, s.Scale);
    }

    /// <summary>Writes the transpose of the <paramref name="rows"/>×<paramref name="cols"/> block of <paramref name="source"/> into <paramref name="target"/>, zero-padding its rows to <paramref name="targetStride"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose(ReadOnlySpan<float> source, int sourceStride, Span<float> target, int targetStride, int rows, int cols)
    {
        for (int c = 0; c < cols; c++)
        {
            var row = target.Slice(c * targetStride, targetStride);
            for (int r = 0; r < rows; r++) row[r] = source[r * sourceStride + c];
            row[rows..].Clear();
        }
    }

    /// <summary>Softmax over the first <paramref name="count"/> entries of a padded row; the padding becomes zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SoftmaxRow(Span<float> row, int count)
    {
        row[count..].Fill(float.NegativeInfinity);
        ref float r = ref At(row, 0);
        var max = Vector256.Create(float.NegativeInfinity);
        for (int j = 0; j < row.Length; j += 8) max = Vector256.Max(max, Vector256.LoadUnsafe(ref r, (nuint)j));
        var rowMax = Vector256.Create(HorizontalMax(max));
        var sum = Vector256<float>.Zero;
        for (int j = 0; j < row.Length; j += 8)
        {
            var e = Vector256.Exp(Vector256.LoadUnsafe(ref r, (nuint)j) - rowMax);
            e.StoreUnsafe(ref r, (nuint)j);
            sum += e;
        }
        var inverse = Vector256.Create(1f / Vector256.Sum(sum));
        for (int j = 0; j < row.Length; j += 8) (Vector256.LoadUnsafe(ref r, (nuint)j) * inverse).StoreUnsafe(ref r, (nuint)j);
        row[count..].Clear(); // exp(−∞) is 0 already; keep it exact whatever Exp's edge handling
    }

    /// <summary>In place: <c>dS = P ∘ (dP − Σ P ∘ dP)</c> for one row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SoftmaxGradRow(ReadOnlySpan<float> probabilities, Span<float> grad)
    {
        ref float p = ref MemoryMarshal.GetReference(probabilities);
        ref float g = ref At(grad, 0);
        var dot = Vector256<float>.Zero;
        for (int j = 0; j < grad.Length; j += 8)
            dot = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref p, (nuint)j), Vector256.LoadUnsafe(ref g, (nuint)j), dot);
        var rowDot = Vector256.Create(Vector256.Sum(dot));
        for (int j = 0; j < grad.Length; j += 8)
            (Vector256.LoadUnsafe(ref p, (nuint)j) * (Vector256.LoadUnsafe(ref g, (nuint)j) - rowDot)).StoreUnsafe(ref g, (nuint)j);
    }

    private static float HorizontalMax(Vector256<float> v)
    {
        var m = Vector128.Max(v.GetLower(), v.GetUpper());
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
    }

    private static ref float At(Span<float> span, int index) => ref Unsafe.Add(ref MemoryMarshal.GetReference(span), index);

    private static Span<float> Floats(Tensor t) => MemoryMarshal.Cast<byte, float>(t.bytes);

    /// <summary>
    /// Runs the B·H heads in chunks over libtorch's thread count of workers, each with its own scratch buffer. The
    /// chunks are small (about eight per worker) so that a worker held up by another thread on its core, such as
    /// the data loader's or a spinning OpenMP worker, leaves its share to the others instead of stalling the call.
    /// </summary>
    private static void ForEachHeadRange(Shape shape, int scratchSize, Action<int, int, Span<float>> run)
    {
        int workers = Math.Max(1, Math.Min(get_num_threads(), shape.Count));
        if (workers == 1)
        {
            RunRange(0, shape.Count, scratchSize, run);
            return;
        }
        int chunk = Math.Max(1, shape.Count / (workers * 8));
        int chunks = (shape.Count + chunk - 1) / chunk;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = workers },
            () => ArrayPool<float>.Shared.Rent(scratchSize),
            (c, _, buffer) =>
            {
                run(c * chunk, Math.Min(shape.Count, (c + 1) * chunk), buffer.AsSpan(0, scratchSize));
                return buffer;
            },
            buffer => ArrayPool<float>.Shared.Return(buffer));
    }

    private static void RunRange(int first, int end, int scratchSize, Action<int, int, Span<float>> run)
    {
        var buffer = ArrayPool<float>.Shared.Rent(scratchSize);
        try { run(first, end, buffer.AsSpan(0, scratchSize)); }
        finally { ArrayPool<float>.Shared.Return(buffer); }
    }

    private readonly record struct Shape(int Batch, int Tokens, int Heads, int HeadDim)
    {
        public int Width => Heads * HeadDim;
        public int RowStride => 3 * Width;
        public int PaddedTokens => (Tokens + 7) / 8 * 8;
        public float Scale => 1f / MathF.Sqrt(HeadDim);
        public int Count => Batch * Heads;

        public static Shape Of(Tensor qkv, int heads)
        {
            if (!qkv.is_contiguous()) throw new ArgumentException("the packed qkv tensor must be contiguous", nameof(qkv));
            long packedWidth = qkv.shape[2];
            if (packedWidth % (3 * heads) != 0) throw new ArgumentException($"qkv width {packedWidth} is not 3 × {heads} heads × a head width");
            return new Shape(checked((int)qkv.shape[0]), checked((int)qkv.shape[1]), heads, (int)(packedWidth / (3 * heads)));
        }

        /// <summary>Offset of the first token's q (part 0), k (1) or v (2) of one head of one image.</summary>
        public int QkvOffset(int image, int head, int part) => image * Tokens * RowStride + part * Width + head * HeadDim;

        public int ContextOffset(int image, int head) => image * Tokens * Width + head * HeadDim;
    }
}
