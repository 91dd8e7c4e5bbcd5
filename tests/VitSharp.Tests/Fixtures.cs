using System.Text.Json.Nodes;
using VitSharp.IO;
using static TorchSharp.torch;

namespace VitSharp.Tests;

/// <summary>Access to the PyTorch-generated fixtures under tests/fixtures (see tools/fixtures/README.md).</summary>
internal static class Fixtures
{
    /// <summary>Absolute tolerance for float32 parity with PyTorch.</summary>
    public const double Tolerance = 1e-5;

    public static string Dir { get; } = Path.Combine(AppContext.BaseDirectory, "fixtures");

    public static string Path_(params string[] parts) => Path.Combine([Dir, .. parts]);

    public static JsonNode Json(params string[] parts) => JsonNode.Parse(File.ReadAllText(Path_(parts)))!;

    public static SafeTensorsFile Tensors(params string[] parts) => SafeTensors.Read(Path_(parts));

    public static double MaxAbsDiff(Tensor actual, Tensor expected)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var diff = (actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max();
        return diff.item<double>();
    }

    public static void AssertClose(Tensor actual, Tensor expected, string what, double tolerance = Tolerance)
    {
        double error = MaxAbsDiff(actual, expected);
        Assert.True(error <= tolerance, $"{what}: max |error| {error:E3} > {tolerance:E1}");
    }
}
