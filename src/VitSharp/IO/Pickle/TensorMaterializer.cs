using static TorchSharp.torch;

namespace VitSharp.IO.Pickle;

/// <summary>Reads a <see cref="TensorRef"/> into a new contiguous CPU tensor of its size.</summary>
internal static class TensorMaterializer
{
    public static Tensor Read(TensorRef tensor, IStorageRecords records)
    {
        using var scope = NewDisposeScope();
        Tensor storage = records.Read(tensor.Storage);
        Tensor result;
        if (tensor.IsWholeContiguousStorage)
        {
            result = storage.reshape(tensor.Size);
        }
        else
        {
            // A view (a transposed weight, one of several tensors sharing a storage): copy out just its elements, so
            // the result neither aliases nor keeps alive the rest of the storage. The geometry was validated on parsing.
            result = empty(tensor.Size, tensor.Storage.DType);
            result.copy_(storage.as_strided(tensor.Size, tensor.Stride, tensor.Offset));
        }
        return result.MoveToOuterDisposeScope();
    }
}
