using static TorchSharp.torch;

namespace VitSharp.IO.Pickle;

/// <summary>
/// A storage named by a persistent id: the record <paramref name="Key"/> holds <paramref name="ElementCount"/>
/// elements of <paramref name="DType"/>. Its bytes stay in the file until a tensor using it is read.
/// </summary>
internal sealed record StorageRef(string Key, ScalarType DType, long ElementCount)
{
    public long ByteLength => ElementCount * TorchDTypes.ElementSize(DType);
}

/// <summary>
/// A tensor as <c>torch._utils._rebuild_tensor_v2</c> describes it: a view of <paramref name="Storage"/> starting at
/// element <paramref name="Offset"/> with the given sizes and strides (in elements). Built only through
/// <see cref="TensorGeometry.Validate"/>, so every element it addresses lies inside the storage.
/// </summary>
internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Size, long[] Stride)
{
    public long ElementCount => Size.Aggregate(1L, (a, b) => a * b);

    /// <summary>True when the tensor is the whole storage in row-major order, so reading needs no copy.</summary>
    public bool IsWholeContiguousStorage
    {
        get
        {
            if (Offset != 0 || ElementCount != Storage.ElementCount) return false;
            long expected = 1;
            for (int dim = Size.Length - 1; dim >= 0; dim--)
            {
                if (Size[dim] != 1 && Stride[dim] != expected) return false;
                expected *= Size[dim];
            }
            return true;
        }
    }
}

/// <summary>A dtype constant such as <c>torch.float32</c>, which torch 2.x pickles as a global.</summary>
internal sealed record TorchDType(ScalarType DType, string Name);
