namespace VitSharp.Training.Data;

/// <summary>
/// Zalando Research's Fashion-MNIST (MIT licence): 28x28 greyscale clothing images in 10 classes, 60,000 for training
/// and 10,000 for testing, in the IDX format. Debian's <c>dataset-fashion-mnist</c> package installs the official files in
/// <see cref="DebianFolder"/>; the library also embeds the first 1000 images of each split (data/fashion-mnist-sample) so
/// that training runs, on less data, where neither the package nor a download is available.
/// </summary>
public static class FashionMnist
{
    public const string DebianFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The spec prefix of <see cref="Open"/>; "fashion-mnist:sample" names the bundled sample, "fashion-mnist:download" the official files.</summary>
    private const string Scheme = "fashion-mnist";
    private const string SampleName = "sample";
    private const string DownloadName = "download";

    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// Where the official files can be downloaded (append e.g. <c>train-images-idx3-ubyte.gz</c>). The spec
    /// <c>fashion-mnist:download</c> fetches them (<see cref="FashionMnistDownload"/>); nothing else downloads.
    /// </summary>
    public static string DownloadUrl { get; } = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

    /// <summary>
    /// Reads split "train" (train-images-idx3-ubyte, train-labels-idx1-ubyte) or "test" (t10k-…) from
    /// <paramref name="folder"/>, each file gzip'd (.gz) or raw. Errors in the files are <see cref="IdxFormatException"/>s.
    /// </summary>
    public static IImageDataset Load(string folder, string split)
    {
        ArgumentNullException.ThrowIfNull(folder);
        string prefix = Prefix(split);
        string images = Find(folder, $"{prefix}-images-idx3-ubyte");
        string labels = Find(folder, $"{prefix}-labels-idx1-ubyte");
        var (imageShape, pixels) = IdxFile.Read(images, 3);
        var (labelShape, labelBytes) = IdxFile.Read(labels, 1);
        return Create(imageShape, pixels, labelShape, labelBytes, $"{Path.GetFullPath(folder)} ({split})", note: null);
    }

    /// <summary>
    /// Opens a split from a spec: null or "fashion-mnist" = <see cref="DebianFolder"/> when it holds the files, else the
    /// bundled sample, with a <see cref="ImageDataset.Note"/> saying so; "fashion-mnist:sample" = the sample;
    /// "fashion-mnist:download" = the official files, downloaded once to <see cref="FashionMnistDownload.DefaultFolder"/>
    /// and checked against their published MD5s; "fashion-mnist:DIR" or a plain folder path = <see cref="Load"/> of that folder.
    /// </summary>
    public static IImageDataset Open(string? spec, string split)
    {
        string prefix = Prefix(split);
        if (spec is null || spec == Scheme)
        {
            if (File.Exists(Path.Combine(DebianFolder, $"{prefix}-images-idx3-ubyte.gz")))
                return Load(DebianFolder, split);
            return LoadSample(split,
                $"Fashion-MNIST is not installed in {DebianFolder} (Debian package dataset-fashion-mnist; or download the four files from " +
                $"{DownloadUrl} and pass their folder), so the bundled sample of the first 1000 {split} images is used.");
        }
        string folder = spec.StartsWith(Scheme + ":", StringComparison.Ordinal) ? spec[(Scheme.Length + 1)..] : spec;
        return folder switch
        {
            SampleName => LoadSample(split, note: null),
            DownloadName => Load(FashionMnistDownload.Ensure(FashionMnistDownload.DefaultFolder, log: Console.Error), split),
            _ => Load(folder, split),
        };
    }

    private static ImageDataset LoadSample(string split, string? note)
    {
        string prefix = Prefix(split);
        var (imageShape, pixels) = ReadResource($"{prefix}-images-idx3-ubyte.gz", 3);
        var (labelShape, labelBytes) = ReadResource($"{prefix}-labels-idx1-ubyte.gz", 1);
        return Create(imageShape, pixels, labelShape, labelBytes, $"bundled Fashion-MNIST sample ({split}, first {labelShape[0]} images)", note);
    }

    private static (int[] Shape, byte[] Data) ReadResource(string file, int dimensions)
    {
        string name = $"VitSharp.Training.FashionMnistSample.{file}";
        using var stream = typeof(FashionMnist).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"the library was built without its resource {name}");
        return IdxFile.Read(stream, name, dimensions);
    }

    private static ImageDataset Create(int[] imageShape, byte[] pixels, int[] labelShape, byte[] labelBytes, string source, string? note)
    {
        if (imageShape[0] != labelShape[0])
            throw new IdxFormatException(source, $"{imageShape[0]} images but {labelShape[0]} labels");
        var labels = Array.ConvertAll(labelBytes, b => (int)b);
        int bad = Array.FindIndex(labels, l => l >= ClassNames.Count);
        if (bad >= 0) throw new IdxFormatException(source, $"label {bad} is {labels[bad]}, not one of the {ClassNames.Count} classes");
        return new ImageDataset(pixels, labels, ClassNames, channels: 1, imageShape[1], imageShape[2], source, note);
    }

    private static string Prefix(string split) => split switch
    {
        "train" => "train",
        "test" => "t10k",
        _ => throw new ArgumentException($"unknown Fashion-MNIST split '{split}'; use 'train' or 'test'", nameof(split)),
    };

    private static string Find(string folder, string stem)
    {
        foreach (string candidate in new[] { stem + ".gz", stem })
        {
            string path = Path.Combine(folder, candidate);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException($"Fashion-MNIST file {stem}(.gz) is not in {folder}; the files are at {DownloadUrl}", Path.Combine(folder, stem + ".gz"));
    }
}
