using VitSharp.IO;
using static TorchSharp.torch;

namespace VitSharp.Fuzz;

/// <summary>
/// One reader under test: it reads a whole input, and it may refuse the input only with the exception types its
/// documentation promises. Any other exception escaping <see cref="Run"/> is a finding.
/// </summary>
/// <param name="Name">The command-line name.</param>
/// <param name="Read">Reads every tensor of the input and returns how many tensor bytes it allocated.</param>
/// <param name="Refusals">The documented exception types for a malformed input.</param>
public sealed record FuzzTarget(string Name, Func<Stream, long> Read, IReadOnlyList<Type> Refusals)
{
    /// <summary>Every target by name. A new reader needs one line here.</summary>
    public static readonly IReadOnlyDictionary<string, FuzzTarget> All = new Dictionary<string, FuzzTarget>
    {
        ["safetensors"] = new("safetensors", ReadSafeTensors, [typeof(SafeTensorsFormatException)]),
        ["pytorch"] = new("pytorch", ReadPyTorch, [typeof(VitSharp.IO.Pickle.PyTorchCheckpointException)]),
    };

    /// <summary>Reads the input; a documented refusal counts as handled and returns null, anything else escapes.</summary>
    /// <returns>The tensor bytes allocated, or null when the input was refused as documented.</returns>
    public long? Run(Stream input)
    {
        try
        {
            return Read(input);
        }
        catch (Exception e) when (IsRefusal(e))
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="e"/> is one of the documented refusals (exactly, or a subclass).</summary>
    public bool IsRefusal(Exception e) => Refusals.Any(type => type.IsInstanceOfType(e));

    private static long ReadPyTorch(Stream input)
    {
        long allocated = 0;
        // The reader seeks (zip directory, storage records); AFL hands inputs over as a pipe-like stream.
        if (!input.CanSeek)
        {
            var copy = new MemoryStream();
            input.CopyTo(copy);
            input = copy;
        }
        using var file = VitSharp.IO.Pickle.PyTorchCheckpoint.Open(input, "fuzz input", leaveOpen: true);
        foreach (StoredTensor stored in ((ICheckpointSource)file).Tensors)
        {
            using Tensor tensor = stored.Read();
            allocated += tensor.numel() * tensor.element_size();
        }
        return allocated;
    }

    private static long ReadSafeTensors(Stream input)
    {
        long allocated = 0;
        using SafeTensorsFile file = SafeTensors.Read(input, "fuzz input");
        foreach (string key in file.Keys)
        {
            using Tensor tensor = file.Get(key);
            allocated += tensor.numel() * tensor.element_size();
        }
        return allocated;
    }
}
