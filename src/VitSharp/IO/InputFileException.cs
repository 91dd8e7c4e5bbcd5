namespace VitSharp.IO;

/// <summary>An input path that must not be opened as a file: a FIFO, a socket, a device, a folder, a loop of symbolic links, or one over its size limit.</summary>
public sealed class InputFileException : IOException
{
    public InputFileException(string path, string problem)
        : base($"{path}: {problem}")
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The path as it was given.</summary>
    public string Path { get; }

    /// <summary>What is wrong with it, without the path.</summary>
    public string Problem { get; }
}
