namespace VitSharp.Checkpoints;

/// <summary>
/// A checkpoint that cannot be loaded as asked: an unrecognised naming, an unsupported variant, an architecture
/// that cannot be told from the tensors, or tensors that disagree with each other. The message is one line that
/// names the file and the problem.
/// </summary>
public sealed class CheckpointException(string message) : IOException(message);
