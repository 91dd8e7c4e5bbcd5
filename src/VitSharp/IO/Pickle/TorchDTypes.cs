using static TorchSharp.torch;

namespace VitSharp.IO.Pickle;

/// <summary>The dtypes the reader supports, by their torch storage-class and dtype names.</summary>
internal static class TorchDTypes
{
    /// <summary>Legacy typed storage classes, which name the dtype of a storage in persistent ids (torch 1.x and 2.x alike).</summary>
    public static readonly IReadOnlyDictionary<string, ScalarType> ByStorageClass = new Dictionary<string, ScalarType>
    {
        ["FloatStorage"] = ScalarType.Float32,
        ["DoubleStorage"] = ScalarType.Float64,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
        // An untyped storage is a byte array: torch 2.x names it when a bare UntypedStorage was saved.
        ["UntypedStorage"] = ScalarType.Byte,
    };

    /// <summary>The <c>torch.*</c> dtype constants, with their aliases (torch.float is torch.float32).</summary>
    public static readonly IReadOnlyDictionary<string, ScalarType> ByDTypeName = new Dictionary<string, ScalarType>
    {
        ["float32"] = ScalarType.Float32,
        ["float"] = ScalarType.Float32,
        ["float64"] = ScalarType.Float64,
        ["double"] = ScalarType.Float64,
        ["float16"] = ScalarType.Float16,
        ["half"] = ScalarType.Float16,
        ["bfloat16"] = ScalarType.BFloat16,
        ["int64"] = ScalarType.Int64,
        ["long"] = ScalarType.Int64,
        ["int32"] = ScalarType.Int32,
        ["int"] = ScalarType.Int32,
        ["int16"] = ScalarType.Int16,
        ["short"] = ScalarType.Int16,
        ["int8"] = ScalarType.Int8,
        ["uint8"] = ScalarType.Byte,
        ["bool"] = ScalarType.Bool,
    };

    public static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a dtype the checkpoint reader produces"),
    };
}
