using VitSharp.Imaging;
using VitSharp.Inference;

namespace VitSharp.Cli.Commands;

/// <summary>
/// The images of a resolution sweep: every image file under a folder, and their classes when the folder has one
/// subfolder per class whose names are the model's labels (ImageNet-style layout).
/// </summary>
internal sealed record SweepImages(IReadOnlyList<string> Files, IReadOnlyList<int>? Classes, string Why)
{
    public static SweepImages Find(string folder, IReadOnlyList<string>? labels)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"image folder '{folder}' does not exist");
        var files = ImageInputs.Expand([folder]); // each real file once; links to folders are not followed
        if (files.Count == 0) throw new ArgumentException($"'{folder}' holds no image ({string.Join(", ", ImageFile.Extensions)})");

        var classFolders = Directory.GetDirectories(folder);
        if (classFolders.Length == 0) return new(files, null, "no class subfolders");
        if (labels is not { Count: > 0 }) return new(files, null, "the model has no labels");
        if (files.Any(f => Path.GetDirectoryName(f) == Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar)))
            return new(files, null, "some images are not in a class subfolder");

        var byName = labels.Select((label, index) => (Key: Normalize(label), index)).GroupBy(l => l.Key).ToDictionary(g => g.Key, g => g.First().index);
        var unknown = classFolders.Select(Path.GetFileName).Where(name => !byName.ContainsKey(Normalize(name!))).ToList();
        if (unknown.Count > 0) return new(files, null, $"subfolder '{unknown[0]}' is not one of the model's labels");

        string root = Path.GetFullPath(folder);
        var classes = files.Select(f => byName[Normalize(Path.GetRelativePath(root, Path.GetFullPath(f)).Split(Path.DirectorySeparatorChar)[0])]).ToList();
        return new(files, classes, $"{classFolders.Length} class subfolders matching the model's labels");
    }

    /// <summary>Folder names cannot hold every label character: compare without case, spaces, '_' and '-'.</summary>
    private static string Normalize(string name) => new([.. name.ToLowerInvariant().Where(char.IsLetterOrDigit)]);
}
