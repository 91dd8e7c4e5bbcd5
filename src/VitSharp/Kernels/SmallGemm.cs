using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace VitSharp.Kernels;

/// <summary>
/// <c>C = alpha · A · B</c> for the small row-major matrices of one attention head (tens to a few hundred rows,
/// head widths of 8 to 128), with 256-bit vectors. Each operand has its own row stride, so a head's
/// <c>q</c>, <c>k</c> and <c>v</c> are read in place from the packed <c>qkv</c> projection and its output is written
/// in place into the <c>[B, N, heads·D]</c> context: no permute or copy around the kernel.
/// </summary>
/// <remarks>
/// libtorch hands each such product to a BLAS call sized for large matrices; for a 50×16 head that call's
/// overhead is larger than the arithmetic. Here a 4×16 register block does the work: per step of the shared
/// dimension, two vector loads of B, four broadcasts of A and eight fused multiply-adds.
/// </remarks>
internal static class SmallGemm
{
    /// <summary>Overwrites the <paramref name="m"/>×<paramref name="n"/> block of C; <paramref name="n"/> must be a multiple of 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(
        ref float a, int lda, ref float b, int ldb, ref float c, int ldc, int m, int n, int k, float alpha)
    {
        var scale = Vector256.Create(alpha);
        int i = 0;
        for (; i + 4 <= m; i += 4)
        {
            ref float a0 = ref Unsafe.Add(ref a, i * lda);
            ref float c0 = ref Unsafe.Add(ref c, i * ldc);
            int j = 0;
            for (; j + 16 <= n; j += 16) Block4x16(ref a0, lda, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref c0, j), ldc, k, scale);
            if (j < n) Block4x8(ref a0, lda, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref c0, j), ldc, k, scale);
        }
        for (; i < m; i++)
        {
            ref float a0 = ref Unsafe.Add(ref a, i * lda);
            ref float c0 = ref Unsafe.Add(ref c, i * ldc);
            for (int j = 0; j < n; j += 8) Block1x8(ref a0, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref c0, j), k, scale);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block4x16(ref float a, int lda, ref float b, int ldb, ref float c, int ldc, int k, Vector256<float> scale)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int p = 0; p < k; p++)
        {
            ref float bRow = ref Unsafe.Add(ref b, p * ldb);
            var b0 = Vector256.LoadUnsafe(ref bRow);
            var b1 = Vector256.LoadUnsafe(ref bRow, 8);
            var a0 = Vector256.Create(Unsafe.Add(ref a, p));
            var a1 = Vector256.Create(Unsafe.Add(ref a, lda + p));
            var a2 = Vector256.Create(Unsafe.Add(ref a, 2 * lda + p));
            var a3 = Vector256.Create(Unsafe.Add(ref a, 3 * lda + p));
            c00 = Vector256.FusedMultiplyAdd(a0, b0, c00); c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
            c10 = Vector256.FusedMultiplyAdd(a1, b0, c10); c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
            c20 = Vector256.FusedMultiplyAdd(a2, b0, c20); c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
            c30 = Vector256.FusedMultiplyAdd(a3, b0, c30); c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
        }
        (c00 * scale).StoreUnsafe(ref c); (c01 * scale).StoreUnsafe(ref c, 8);
        (c10 * scale).StoreUnsafe(ref c, (nuint)ldc); (c11 * scale).StoreUnsafe(ref c, (nuint)(ldc + 8));
        (c20 * scale).StoreUnsafe(ref c, (nuint)(2 * ldc)); (c21 * scale).StoreUnsafe(ref c, (nuint)(2 * ldc + 8));
        (c30 * scale).StoreUnsafe(ref c, (nuint)(3 * ldc)); (c31 * scale).StoreUnsafe(ref c, (nuint)(3 * ldc + 8));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block4x8(ref float a, int lda, ref float b, int ldb, ref float c, int ldc, int k, Vector256<float> scale)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int p = 0; p < k; p++)
        {
            var b0 = Vector256.LoadUnsafe(ref Unsafe.Add(ref b, p * ldb));
            c0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, p)), b0, c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, lda + p)), b0, c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, 2 * lda + p)), b0, c2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, 3 * lda + p)), b0, c3);
        }
        (c0 * scale).StoreUnsafe(ref c);
        (c1 * scale).StoreUnsafe(ref c, (nuint)ldc);
        (c2 * scale).StoreUnsafe(ref c, (nuint)(2 * ldc));
        (c3 * scale).StoreUnsafe(ref c, (nuint)(3 * ldc));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block1x8(ref float a, ref float b, int ldb, ref float c, int k, Vector256<float> scale)
    {
        // Two accumulators over alternate steps keep two FMA chains in flight for this single row.
        Vector256<float> even = default, odd = default;
        int p = 0;
        for (; p + 2 <= k; p += 2)
        {
            even = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, p)), Vector256.LoadUnsafe(ref Unsafe.Add(ref b, p * ldb)), even);
            odd = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, p + 1)), Vector256.LoadUnsafe(ref Unsafe.Add(ref b, (p + 1) * ldb)), odd);
        }
        if (p < k) even = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, p)), Vector256.LoadUnsafe(ref Unsafe.Add(ref b, p * ldb)), even);
        ((even + odd) * scale).StoreUnsafe(ref c);
    }
}
