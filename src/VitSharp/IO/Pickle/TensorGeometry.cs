namespace VitSharp.IO.Pickle;

/// <summary>
/// Checks a tensor's storage offset, sizes and strides before anything is allocated: all non-negative, at most
/// <see cref="MaxDims"/> dimensions, and every addressed element inside the storage, with no arithmetic overflow.
/// </summary>
internal static class TensorGeometry
{
    /// <summary>PyTorch's own limit on the number of dimensions.</summary>
    public const int MaxDims = 64;

    public static TensorRef Validate(StorageRef storage, long offset, long[] size, long[] stride)
    {
        if (size.Length != stride.Length)
            throw new CheckpointProblem($"a tensor of storage {Describe.Text(storage.Key)} has {size.Length} sizes but {stride.Length} strides");
        if (size.Length > MaxDims)
            throw new CheckpointProblem($"a tensor of storage {Describe.Text(storage.Key)} has {size.Length} dimensions; at most {MaxDims} are allowed");
        if (offset < 0 || size.Any(s => s < 0) || stride.Any(s => s < 0))
            throw new CheckpointProblem($"a tensor of storage {Describe.Text(storage.Key)} has a negative offset, size or stride (offset {offset}, size {Describe.Shape(size)}, stride {Describe.Shape(stride)})");

        // An empty tensor addresses nothing, but its offset must still lie within the storage.
        bool empty = size.Any(s => s == 0);
        long last = offset;
        try
        {
            checked
            {
                for (int dim = 0; dim < size.Length && !empty; dim++)
                    last += (size[dim] - 1) * stride[dim];
                // Torch sizes its allocation by the product of the non-zero sizes, so that must fit even when a zero hides it.
                long product = 1;
                foreach (long s in size) product *= Math.Max(s, 1);
            }
        }
        catch (OverflowException)
        {
            throw new CheckpointProblem($"a tensor of storage {Describe.Text(storage.Key)} has a size or stride so large that its extent overflows (size {Describe.Shape(size)}, stride {Describe.Shape(stride)})");
        }

        bool inside = empty ? offset <= storage.ElementCount : last < storage.ElementCount;
        if (!inside)
            throw new CheckpointProblem(
                $"a tensor of storage {Describe.Text(storage.Key)} (offset {offset}, size {Describe.Shape(size)}, stride {Describe.Shape(stride)}) reaches element {last}, " +
                $"past the storage's {storage.ElementCount} elements");
        return new TensorRef(storage, offset, size, stride);
    }
}
