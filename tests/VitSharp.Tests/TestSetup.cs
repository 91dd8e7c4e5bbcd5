using System.Runtime.CompilerServices;
using VitSharp.Native;

namespace VitSharp.Tests;

internal static class TestSetup
{
    /// <summary>Tests may touch TorchSharp before any VitSharp type; prepare its native library first.</summary>
#pragma warning disable CA2255 // The module initializer is the one place that runs before every test class.
    [ModuleInitializer]
    internal static void LoadTorch() => TorchRuntime.EnsureLoaded();
#pragma warning restore CA2255
}
