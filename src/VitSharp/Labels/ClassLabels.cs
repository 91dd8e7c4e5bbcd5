using System.Text.Json;

namespace VitSharp.Labels;

/// <summary>
/// The class names of a classifier head and where they came from. Resolution order (see <see cref="Resolve"/>):
/// names given by the caller, the checkpoint's own names, ImageNet-1k for a 1000-class head, else <c>class N</c>.
/// </summary>
public sealed class ClassLabels
{
    private static readonly Lazy<IReadOnlyList<string>> imageNet = new(ReadImageNet);

    private readonly IReadOnlyList<string>? names;

    private ClassLabels(int count, IReadOnlyList<string>? names, string source)
    {
        Count = count;
        this.names = names;
        Source = source;
    }

    /// <summary>Number of classes (the head's output width).</summary>
    public int Count { get; }

    /// <summary>Where the names came from: <c>given</c>, <c>checkpoint</c>, <c>imagenet-1k</c> or <c>index</c>.</summary>
    public string Source { get; }

    /// <summary>The name of class <paramref name="index"/>; <c>class N</c> when no names are known.</summary>
    public string this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            return names is null ? $"class {index}" : names[index];
        }
    }

    /// <summary>The 1000 ImageNet-1k class names in index order (torchvision's list; <c>tench</c> first).</summary>
    public static IReadOnlyList<string> ImageNet1k => imageNet.Value;

    /// <summary>
    /// Chooses the names for a head of <paramref name="numClasses"/> classes. <paramref name="given"/> (for example
    /// from <see cref="ReadFile"/>) must have exactly that many names. <paramref name="fromCheckpoint"/> is used
    /// when its count matches; a different count means the config described another head (a head rebuilt with
    /// another class count), so it is passed over.
    /// </summary>
    /// <exception cref="ArgumentException">The given names do not match the head's class count.</exception>
    public static ClassLabels Resolve(int numClasses, IReadOnlyList<string>? given = null, IReadOnlyList<string>? fromCheckpoint = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(numClasses);
        if (given is not null)
        {
            if (given.Count != numClasses)
                throw new ArgumentException($"the labels list has {given.Count} names but the model's head has {numClasses} classes");
            return new ClassLabels(numClasses, given, "given");
        }
        if (fromCheckpoint is not null && fromCheckpoint.Count == numClasses) return new ClassLabels(numClasses, fromCheckpoint, "checkpoint");
        if (numClasses == ImageNet1k.Count) return new ClassLabels(numClasses, ImageNet1k, "imagenet-1k");
        return new ClassLabels(numClasses, null, "index");
    }

    /// <summary>
    /// Reads class names from a file: a JSON list of strings (when the file starts with <c>[</c>), or one name
    /// per line (line ends trimmed; blank lines at the end ignored, blank lines inside are an error because they
    /// would shift every later index).
    /// </summary>
    /// <exception cref="FormatException">The file is neither form.</exception>
    public static IReadOnlyList<string> ReadFile(string path)
    {
        string text = IO.InputFile.ReadAllText(path);
        if (text.TrimStart().StartsWith('['))
        {
            try
            {
                var names = JsonSerializer.Deserialize<List<string?>>(text);
                if (names is null || names.Any(n => n is null)) throw new FormatException($"labels file '{path}' holds a JSON null");
                return [.. names.Select(n => n!)];
            }
            catch (JsonException e)
            {
                throw new FormatException($"labels file '{path}' is not a JSON list of strings: {e.Message}", e);
            }
        }
        return ReadLines(text, path);
    }

    private static List<string> ReadLines(string text, string source)
    {
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        while (lines.Count > 0 && lines[^1].Trim().Length == 0) lines.RemoveAt(lines.Count - 1);
        int blank = lines.FindIndex(l => l.Trim().Length == 0);
        if (blank >= 0) throw new FormatException($"labels file '{source}' has a blank line {blank + 1}; give one name per line");
        return lines.Select(l => l.Trim()).ToList();
    }

    private static IReadOnlyList<string> ReadImageNet()
    {
        const string resource = "VitSharp.Labels.imagenet1k.txt";
        using var stream = typeof(ClassLabels).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the assembly lacks the embedded resource {resource}");
        using var reader = new StreamReader(stream);
        return ReadLines(reader.ReadToEnd(), resource).AsReadOnly();
    }
}
