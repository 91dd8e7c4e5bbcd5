namespace VitSharp.Training.Data;

/// <summary>An IDX file (the MNIST / Fashion-MNIST format) that is missing, truncated, corrupt or of the wrong kind.</summary>
public sealed class IdxFormatException : IOException
{
    public IdxFormatException(string name, string problem, Exception? inner = null)
        : base($"Cannot read IDX file '{name}': {problem}", inner)
    {
        FileName = name;
        Problem = problem;
    }

    public string FileName { get; }
    public string Problem { get; }
}
