namespace VitSharp.Training;

/// <summary>A training checkpoint that cannot be trusted: unreadable, truncated, or its contents do not match its checksum.</summary>
public sealed class CheckpointCorruptException(string message, Exception? inner = null) : IOException(message, inner);
