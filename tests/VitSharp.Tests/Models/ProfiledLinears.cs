using VitSharp.Modules;

namespace VitSharp.Tests.Models;

/// <summary>Counts the linear layers that ran from a pack on this thread, through the hook the profiler uses.</summary>
internal sealed class ProfiledLinears : IDisposable
{
    public ProfiledLinears()
    {
        LinearKernels.BypassObserver = (_, _, packed) => Count += packed ? 1 : 0;
    }

    public int Count { get; private set; }

    public void Dispose() => LinearKernels.BypassObserver = null;
}
