namespace VitSharp.Training;

/// <summary>The dtype of the forward and backward passes. Master weights, optimizer state, loss and EMA stay float32.</summary>
public enum Precision
{
    Fp32,

    /// <summary>Forward and backward on a bfloat16 copy of the model (see <see cref="Bf16Shadow"/>).</summary>
    Bf16,
}
