namespace VitSharp.Kernels;

/// <summary>Which code computes a <see cref="LinearLayer"/>. All compute the same function.</summary>
public enum LinearKernel
{
    /// <summary>
    /// oneDNN where the product is large enough to repay its fixed cost per call (<see cref="KernelSelection"/>): from
    /// the layer's pack where it has one (<see cref="LinearLayer.Pack"/>), else as a 1×1 convolution, in float32 on an
    /// x86-64 CPU; libtorch's <c>linear</c> otherwise. Every oneDNN shape is checked against libtorch first.
    /// </summary>
    Auto,

    /// <summary>libtorch's <c>linear</c>: its BLAS (MKL's SGEMM in the official builds). The reference.</summary>
    Blas,

    /// <summary>oneDNN whatever the size (from the pack where there is one and no gradient is needed); libtorch's <c>linear</c> where oneDNN does not serve the shape.</summary>
    OneDnn,
}
