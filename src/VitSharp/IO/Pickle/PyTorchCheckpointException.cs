namespace VitSharp.IO.Pickle;

/// <summary>
/// Thrown when a PyTorch checkpoint is malformed or asks for something the restricted reader refuses. The message
/// is one line naming the file and the single problem, e.g.
/// <c>Invalid PyTorch checkpoint 'model.pth': record 'archive/data/3' is missing.</c> or
/// <c>Refused checkpoint 'evil.pth': the pickle asks for global 'os.system', which a state_dict never needs (loading never executes code).</c>
/// </summary>
/// <remarks>Derives from <see cref="IOException"/> so callers that report unreadable files report these too.</remarks>
public sealed class PyTorchCheckpointException : IOException
{
    /// <summary>Creates the exception for <paramref name="sourceName"/> (a path or stream name) and one <paramref name="problem"/>.</summary>
    /// <param name="sourceName">The file path, or the name given for a stream.</param>
    /// <param name="problem">What is wrong, without the file name.</param>
    /// <param name="refused">True when the file asks for something outside the allowlist rather than being broken.</param>
    /// <param name="inner">The lower-level error, if any.</param>
    public PyTorchCheckpointException(string sourceName, string problem, bool refused = false, Exception? inner = null)
        : base($"{(refused ? "Refused checkpoint" : "Invalid PyTorch checkpoint")} {Describe.Text(sourceName)}: {Describe.OneLine(problem)}.", inner)
    {
        SourceName = sourceName;
        Problem = problem;
        Refused = refused;
    }

    /// <summary>The file path, or the name given for a stream.</summary>
    public string SourceName { get; }

    /// <summary>The problem alone, without the file name.</summary>
    public string Problem { get; }

    /// <summary>True when the file was refused for asking for a global or opcode outside the allowlist.</summary>
    public bool Refused { get; }
}

/// <summary>
/// A defect found while parsing, before the file name is known to the code that finds it. The public reader turns
/// it into a <see cref="PyTorchCheckpointException"/> naming the file.
/// </summary>
internal sealed class CheckpointProblem(string problem, bool refused = false) : Exception(problem)
{
    public bool Refused { get; } = refused;

    public static CheckpointProblem Refuse(string problem) => new(problem, refused: true);
}
