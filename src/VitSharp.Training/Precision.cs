namespace VitSharp.Training;

/// <summary>The dtype of the forward and backward passes. Master weights, optimizer state, loss, EMA and evaluation stay float32.</summary>
public enum Precision
{
    Fp32,

    /// <summary>
    /// Forward and backward on a bfloat16 copy of the model (<see cref="Bf16Shadow"/>): fast only on CPUs with
    /// AVX-512-BF16 or AMX (and on GPUs), where libtorch's matmuls and convolutions have bfloat16 kernels.
    /// </summary>
    Bf16,
}
