using VitSharp.Models;
using VitSharp.Weights;

namespace VitSharp.Checkpoints;

/// <summary>A model built and filled from a checkpoint, with what the loader found on the way.</summary>
public sealed class LoadedCheckpoint : IDisposable
{
    internal LoadedCheckpoint(VisionTransformer model, CheckpointSummary summary, LoadReport report, IReadOnlyList<string> adaptations)
    {
        Model = model;
        Summary = summary;
        Report = report;
        Adaptations = adaptations;
    }

    /// <summary>The model, in evaluation mode. Disposing this object disposes it.</summary>
    public VisionTransformer Model { get; }

    /// <summary>What the file is: format, family, the architecture it was trained with, and what was left out.</summary>
    public CheckpointSummary Summary { get; }

    /// <summary>Keys the file lacked or the model lacked (empty after a strict load).</summary>
    public LoadReport Report { get; }

    /// <summary>Changes made to fit the model (a resampled position table or patch kernel, a new head), one line each.</summary>
    public IReadOnlyList<string> Adaptations { get; }

    public void Dispose() => Model.Dispose();
}
