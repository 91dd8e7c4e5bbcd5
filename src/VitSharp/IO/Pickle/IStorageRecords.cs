using static TorchSharp.torch;

namespace VitSharp.IO.Pickle;

/// <summary>The storages of an open checkpoint, read from the file one at a time on demand.</summary>
internal interface IStorageRecords : IDisposable
{
    /// <summary>
    /// Reads <paramref name="storage"/> into a new one-dimensional CPU tensor of its dtype and element count.
    /// Throws <see cref="CheckpointProblem"/> when the bytes cannot be read.
    /// </summary>
    Tensor Read(StorageRef storage);
}
