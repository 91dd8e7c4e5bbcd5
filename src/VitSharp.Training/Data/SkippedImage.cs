namespace VitSharp.Training.Data;

/// <summary>A file that an image folder holds but that could not be read, and why.</summary>
public sealed record SkippedImage(string Path, string Reason);
