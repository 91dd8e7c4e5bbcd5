using TorchSharp;
using static TorchSharp.torch;

namespace VitSharp.Native;

/// <summary>
/// Tensor arithmetic with .NET numbers whose TorchSharp <see cref="Scalar"/>s stay alive until libtorch has read them.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 turns every number it passes to libtorch into a <see cref="Scalar"/> whose finalizer frees the native
/// value, and many calls make one the caller never sees: <c>a + b</c> is <c>add(b, alpha: 1)</c>, <c>x * 0.5</c> and
/// <c>p.mul_(0.9)</c> convert their number. The wrapper reads the handle and drops the object before the native call
/// runs, so a garbage collection on another thread during that call can finalize the Scalar while libtorch still reads
/// it. A training run of the Fashion-MNIST hybrid died that way after 14 minutes ("Expected false to be true ... toFloat
/// at Scalar.h:140" inside <c>THSTensor_add</c>: the alpha's type tag was already freed memory); a freed value that is
/// still readable would instead be used silently. (TorchSharp pull requests #1434 and #1496, open, dispose these
/// temporaries.) The code that runs per step and per image uses these methods instead: a constant alpha of 1 that lives
/// for the whole process, or a Scalar that a <c>using</c> keeps reachable until the native call has returned.
/// Dispose scopes already keep temporary tensors alive, but they do not track Scalars.
/// </remarks>
public static class KeptScalars
{
    /// <summary>The alpha of a plain addition, never collected.</summary>
    public static Scalar One { get; } = 1.ToScalar();

    /// <summary><c>a + b</c>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>a * factor</c>.</summary>
    public static Tensor Times(this Tensor a, double factor)
    {
        using var scalar = factor.ToScalar();
        return a.mul(scalar);
    }

    /// <summary><c>a.mul_(factor)</c>.</summary>
    public static Tensor TimesInPlace(this Tensor a, double factor)
    {
        using var scalar = factor.ToScalar();
        return a.mul_(scalar);
    }

    /// <summary><c>a.div_(divisor)</c>.</summary>
    public static Tensor DivideInPlace(this Tensor a, double divisor)
    {
        using var scalar = divisor.ToScalar();
        return a.div_(scalar);
    }

    /// <summary><c>a.add_(value)</c>.</summary>
    public static Tensor AddInPlace(this Tensor a, double value)
    {
        using var scalar = value.ToScalar();
        return a.add_(scalar, One);
    }

    /// <summary><c>a.add_(other, alpha: alpha)</c>.</summary>
    public static Tensor AddInPlace(this Tensor a, Tensor other, double alpha)
    {
        using var scalar = alpha.ToScalar();
        return a.add_(other, scalar);
    }

    /// <summary><c>a.addcmul_(tensor1, tensor2, value: value)</c>.</summary>
    public static Tensor AddcmulInPlace(this Tensor a, Tensor tensor1, Tensor tensor2, double value)
    {
        using var scalar = value.ToScalar();
        return a.addcmul_(tensor1, tensor2, scalar);
    }

    /// <summary><c>a.addcdiv_(tensor1, tensor2, value: value)</c>.</summary>
    public static Tensor AddcdivInPlace(this Tensor a, Tensor tensor1, Tensor tensor2, double value)
    {
        using var scalar = value.ToScalar();
        return a.addcdiv_(tensor1, tensor2, scalar);
    }
}
