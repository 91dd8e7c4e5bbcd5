using System.Diagnostics;
using VitSharp.Checkpoints;
using VitSharp.IO;
using static TorchSharp.torch;

namespace VitSharp.Bench.LoadMemory;

/// <summary>One measured way of loading the checkpoint, run alone in a fresh process so peaks do not mix.</summary>
internal static class Scenarios
{
    public static readonly string[] Names = ["dictionary", "copy", "loader"];

    /// <summary>Runs <paramref name="name"/> on <paramref name="path"/> and prints one line: name, seconds, baseline and peak bytes.</summary>
    public static void Run(string name, string path, VitCheckpointShape shape)
    {
        // What a loader holds before it reads anything: for "copy", the model's own parameters.
        Dictionary<string, Tensor> model = name == "copy" ? AllocateModel(shape) : [];
        long baseline = ProcessMemory.CurrentBytes();

        var clock = Stopwatch.StartNew();
        if (name == "dictionary") ReadEverything(path);
        else if (name == "copy") CopyIntoModel(path, model);
        else if (name == "loader") LoadModel(path);
        else throw new ArgumentException($"Unknown scenario '{name}' (known: {string.Join(", ", Names)}).");
        clock.Stop();

        Console.WriteLine($"{name} {clock.Elapsed.TotalSeconds:F3} {baseline} {ProcessMemory.PeakBytes()}");
    }

    /// <summary>Every tensor read into a dictionary and kept: the peak is what a caller holding all of them pays.</summary>
    private static void ReadEverything(string path)
    {
        using SafeTensorsFile file = SafeTensors.Read(path);
        Dictionary<string, Tensor> tensors = file.ToDictionary();
        foreach (Tensor tensor in tensors.Values) tensor.Dispose();
    }

    /// <summary>What loading a model does: read one tensor, copy it into the parameter, dispose it.</summary>
    private static void CopyIntoModel(string path, Dictionary<string, Tensor> model)
    {
        using SafeTensorsFile file = SafeTensors.Read(path);
        foreach (string key in file.Keys)
        {
            using Tensor tensor = file.Get(key);
            model[key].copy_(tensor);
        }
    }

    /// <summary>
    /// The whole public path from a file to a ready model: open (safetensors or .pth), detect, infer, build the model
    /// (its initialisation included), load strictly. The peak includes the model itself.
    /// </summary>
    private static void LoadModel(string path)
    {
        using LoadedCheckpoint loaded = CheckpointLoader.Load(path);
        if (!loaded.Report.IsClean) throw new InvalidOperationException(loaded.Report.Describe());
    }

    /// <summary>
    /// Zero-filled (so resident) tensors standing in for a model's parameters. Shaped from the known names rather
    /// than the file, so no reader memory is in the baseline.
    /// </summary>
    private static Dictionary<string, Tensor> AllocateModel(VitCheckpointShape shape) =>
        shape.Parameters().ToDictionary(p => p.Name, p => zeros(p.Shape, ScalarType.Float32));
}
