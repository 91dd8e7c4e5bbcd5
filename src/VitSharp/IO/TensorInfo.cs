using static TorchSharp.torch;

namespace VitSharp.IO;

/// <summary>What a safetensors header says about one tensor, after validation.</summary>
public sealed class TensorInfo
{
    private readonly long[] shape;

    internal TensorInfo(string name, SafeTensorsDType dtype, long[] shape, long elementCount, long dataBegin, long dataEnd)
    {
        Name = name;
        Type = dtype;
        this.shape = shape;
        ElementCount = elementCount;
        DataBegin = dataBegin;
        DataEnd = dataEnd;
    }

    /// <summary>The tensor's key in the file.</summary>
    public string Name { get; }

    /// <summary>The safetensors dtype name, e.g. <c>F32</c> or <c>BF16</c>.</summary>
    public string DType => Type.Name;

    /// <summary>The TorchSharp element type that <see cref="DType"/> maps to.</summary>
    public ScalarType ScalarType => Type.ScalarType;

    /// <summary>The shape; empty for a scalar. Each call returns a new array, so callers may keep or change it.</summary>
    public long[] Shape => (long[])shape.Clone();

    /// <summary>The number of elements (the product of <see cref="Shape"/>; 1 for a scalar).</summary>
    public long ElementCount { get; }

    /// <summary>The number of data bytes: <see cref="ElementCount"/> times the item size.</summary>
    public long ByteLength => DataEnd - DataBegin;

    /// <summary>Where the data starts, counted from the first byte after the header (the header's <c>data_offsets[0]</c>).</summary>
    public long DataBegin { get; }

    /// <summary>Where the data ends, exclusive, counted like <see cref="DataBegin"/> (the header's <c>data_offsets[1]</c>).</summary>
    public long DataEnd { get; }

    internal SafeTensorsDType Type { get; }

    /// <summary>The shape without a copy, for code in this assembly that will not change it.</summary>
    internal ReadOnlySpan<long> ShapeView => shape;

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {DType} {Describe.Shape(shape)}";
}
