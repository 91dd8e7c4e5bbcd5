using VitSharp.Native;

namespace VitSharp.Modules;

/// <summary>Which code computes the model's linear layers (<c>qkv</c>, <c>proj</c>, <c>fc1</c>, <c>fc2</c>, <c>head</c>). All compute the same function.</summary>
public enum LinearKernel
{
    /// <summary>
    /// <see cref="OneDnn"/> for float32 on an x86-64 CPU when the product is large enough to repay oneDNN's fixed cost
    /// per call (<see cref="LinearKernels.AutoOneDnnMinRows"/>, <see cref="LinearKernels.AutoOneDnnMinMultiplyAdds"/>;
    /// with weights packed by <see cref="Models.VisionTransformer.PackLinearWeights"/>, which cost less per call,
    /// <see cref="LinearKernels.AutoPackedMinMultiplyAdds"/>), <see cref="Blas"/> otherwise.
    /// </summary>
    Auto,

    /// <summary>libtorch's <c>linear</c>: its BLAS (MKL's SGEMM in the official builds).</summary>
    Blas,

    /// <summary>
    /// oneDNN whatever the size: from the packed weight where the layer has one and no gradient is needed
    /// (<see cref="OneDnnPackedLinear"/>, float32 or bfloat16), else as a 1×1 convolution (<see cref="OneDnnLinear"/>,
    /// float32); on the CPU only, <see cref="Blas"/> elsewhere.
    /// </summary>
    OneDnn,
}
