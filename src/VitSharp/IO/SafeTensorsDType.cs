using static TorchSharp.torch;

namespace VitSharp.IO;

/// <summary>One safetensors dtype name and its TorchSharp counterpart.</summary>
/// <param name="Name">The name used in the header, e.g. <c>F32</c>.</param>
/// <param name="ScalarType">The TorchSharp element type.</param>
/// <param name="ItemSize">Bytes per element.</param>
/// <param name="LayoutRank">
/// Position in the reference implementation's <c>Dtype</c> enum, which is declared in increasing alignment order.
/// Writers store higher ranks first (as Python's safetensors does), so every tensor's data starts at an offset
/// aligned to its own item size.
/// </param>
internal sealed record SafeTensorsDType(string Name, ScalarType ScalarType, int ItemSize, int LayoutRank)
{
    private static readonly SafeTensorsDType[] Supported =
    [
        new("BOOL", ScalarType.Bool, 1, 0),
        new("U8", ScalarType.Byte, 1, 1),
        new("I8", ScalarType.Int8, 1, 2),
        new("I16", ScalarType.Int16, 2, 3),
        new("F16", ScalarType.Float16, 2, 4),
        new("BF16", ScalarType.BFloat16, 2, 5),
        new("I32", ScalarType.Int32, 4, 6),
        new("F32", ScalarType.Float32, 4, 7),
        new("F64", ScalarType.Float64, 8, 8),
        new("I64", ScalarType.Int64, 8, 9),
    ];

    /// <summary>The supported names, for error messages.</summary>
    public static string SupportedNames { get; } = string.Join(", ", Supported.Select(d => d.Name));

    /// <summary>Looks up a header dtype name; names are case-sensitive, as in the specification.</summary>
    public static SafeTensorsDType? FromName(string name) =>
        Array.Find(Supported, d => string.Equals(d.Name, name, StringComparison.Ordinal));

    /// <summary>Looks up the dtype that stores a TorchSharp element type, or null if safetensors support here lacks it.</summary>
    public static SafeTensorsDType? FromScalarType(ScalarType scalarType) =>
        Array.Find(Supported, d => d.ScalarType == scalarType);
}
