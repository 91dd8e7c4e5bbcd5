using VitSharp.Labels;

namespace VitSharp.Tests.Inference;

public sealed class ClassLabelsTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-labels-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    [Fact]
    public void ImageNet_labels_are_the_1000_torchvision_names_with_tench_first()
    {
        var names = ClassLabels.ImageNet1k;
        Assert.Equal(1000, names.Count);
        Assert.Equal("tench", names[0]);
        Assert.Equal("goldfish", names[1]);
        Assert.Equal("toilet tissue", names[999]);
        Assert.All(names, n => Assert.False(string.IsNullOrWhiteSpace(n)));
    }

    [Fact]
    public void Resolution_order_is_given_then_checkpoint_then_imagenet_then_index()
    {
        string[] given = ["x", "y"], fromCheckpoint = ["p", "q"];
        Assert.Equal(("given", "y"), Pick(ClassLabels.Resolve(2, given, fromCheckpoint)));
        Assert.Equal(("checkpoint", "q"), Pick(ClassLabels.Resolve(2, null, fromCheckpoint)));
        // A checkpoint config for another head (the head was rebuilt) is passed over.
        Assert.Equal(("index", "class 1"), Pick(ClassLabels.Resolve(3, null, fromCheckpoint)));
        var imageNet = ClassLabels.Resolve(1000, null, ["too", "few"]);
        Assert.Equal(("imagenet-1k", "goldfish"), Pick(imageNet));
        Assert.Equal(("checkpoint", "b"), Pick(ClassLabels.Resolve(1000, null, [.. Enumerable.Range(0, 1000).Select(i => i == 1 ? "b" : $"n{i}")])));
        var error = Assert.Throws<ArgumentException>(() => ClassLabels.Resolve(3, given, null));
        Assert.Contains("2 names", error.Message);
    }

    [Fact]
    public void A_labels_file_is_one_name_per_line_or_a_JSON_list()
    {
        string lines = Path.Combine(work, "labels.txt"), json = Path.Combine(work, "labels.json"), gap = Path.Combine(work, "gap.txt");
        File.WriteAllText(lines, "tabby cat\r\n  dog \nbird\n\n");
        File.WriteAllText(json, """["a", "b c", "d"]""");
        File.WriteAllText(gap, "a\n\nb\n");
        Assert.Equal(["tabby cat", "dog", "bird"], ClassLabels.ReadFile(lines));
        Assert.Equal(["a", "b c", "d"], ClassLabels.ReadFile(json));
        Assert.Contains("blank line 2", Assert.Throws<FormatException>(() => ClassLabels.ReadFile(gap)).Message);
    }

    private static (string Source, string Second) Pick(ClassLabels labels) => (labels.Source, labels[1]);
}
