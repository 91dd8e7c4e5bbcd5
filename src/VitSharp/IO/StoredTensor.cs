using static TorchSharp.torch;

namespace VitSharp.IO;

/// <summary>
/// A tensor in a checkpoint file, known by its name, shape and dtype from the file's header (or pickle) and read
/// from the file only when <see cref="Read"/> is called. Loaders inspect shapes first and read one tensor at a
/// time, so peak memory stays near the size of the model rather than the file plus the model.
/// </summary>
public sealed class StoredTensor
{
    private readonly Func<Tensor> read;

    /// <param name="name">The key, with nested containers joined by '.' (for example <c>teacher.backbone.cls_token</c>).</param>
    /// <param name="shape">The shape the tensor will have.</param>
    /// <param name="dtype">The dtype the tensor will have.</param>
    /// <param name="read">Creates a new CPU tensor owned by the caller; must throw an <see cref="IOException"/> subclass on a broken file.</param>
    public StoredTensor(string name, long[] shape, ScalarType dtype, Func<Tensor> read)
    {
        Name = name;
        Shape = shape;
        DType = dtype;
        this.read = read;
    }

    /// <summary>The key in the file.</summary>
    public string Name { get; }

    /// <summary>The shape the tensor will have.</summary>
    public long[] Shape { get; }

    /// <summary>The stored dtype.</summary>
    public ScalarType DType { get; }

    /// <summary>The number of elements (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Reads the tensor into a new CPU tensor owned by the caller (and by its current dispose scope).</summary>
    public Tensor Read() => read();

    public override string ToString() => $"{Name} {DType} [{string.Join(", ", Shape)}]";
}

/// <summary>
/// An open checkpoint file of any supported format, exposing its tensors lazily. Dispose closes the file;
/// tensors already read stay valid.
/// </summary>
public interface ICheckpointSource : IDisposable
{
    /// <summary>The file the checkpoint was opened from.</summary>
    string SourceName { get; }

    /// <summary>A short format name: <c>safetensors</c>, <c>pytorch-zip</c> or <c>pytorch-legacy</c>.</summary>
    string Format { get; }

    /// <summary>Every tensor in the file, in file order, with nested names flattened with '.'.</summary>
    IReadOnlyList<StoredTensor> Tensors { get; }

    /// <summary>String metadata (safetensors <c>__metadata__</c>); empty for formats that have none.</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>
    /// Entries that are not tensors (an epoch number, training arguments, optimizer scalars), each as
    /// "dotted.name: python type", so a user can see what a checkpoint holds beyond its weights.
    /// </summary>
    IReadOnlyList<string> NonTensorEntries { get; }
}
