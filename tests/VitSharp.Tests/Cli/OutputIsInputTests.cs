using VitSharp.IO;
using VitSharp.Tests.Inference;
using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.Cli;

/// <summary>No command writes over a file it reads, under any name or link; outputs must have their format's extension.</summary>
public sealed class OutputIsInputTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-out-in-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private static string[] Model(string name) =>
        ["--weights", Fixtures.Path_("models", $"{name}.weights.safetensors"), "--config", Fixtures.Path_("models", $"{name}.json")];

    private static void AssertRefused((int Code, string Out, string Err) run, string message)
    {
        Assert.NotEqual(0, run.Code);
        Assert.Contains(message, run.Err);
    }

    [Fact]
    public void Preprocess_refuses_its_own_image_through_a_link_and_an_output_that_is_not_safetensors()
    {
        string image = TestImages.Png(work, "good.png", 40, 30, 1);
        byte[] before = File.ReadAllBytes(image);
        string link = Path.Combine(work, "link.safetensors");
        File.CreateSymbolicLink(link, image);
        AssertRefused(Run("preprocess", image, "--preset", "resize", "--out", link), "is also an input");
        AssertRefused(Run("preprocess", image, "--preset", "resize", "--out", image), "must end in .safetensors");
        AssertRefused(Run("preprocess", image, "--preset", "resize", "--out", Path.Combine(work, "x.jpg")), "must end in .safetensors");
        Assert.Equal(before, File.ReadAllBytes(image));
    }

    [Fact]
    public void Forward_refuses_to_write_over_its_input_batch()
    {
        string input = Path.Combine(work, "in.safetensors");
        File.Copy(Fixtures.Path_("models", "vit_timm_p8.io.safetensors"), input);
        byte[] before = File.ReadAllBytes(input);
        AssertRefused(Run(["forward", .. Model("vit_timm_p8"), "--input", input, "--out", input]), "is also an input");
        Assert.Equal(before, File.ReadAllBytes(input));
    }

    [Fact]
    public void Convert_in_place_needs_force_and_then_replaces_the_file_whole()
    {
        string file = Path.Combine(work, "m.safetensors");
        File.Copy(Fixtures.Path_("models", "vit_timm_p8.weights.safetensors"), file);
        File.Copy(Fixtures.Path_("models", "vit_timm_p8.json"), Path.Combine(work, "m.json"));
        byte[] before = File.ReadAllBytes(file);
        AssertRefused(Run("convert", file, file), "is also an input");
        Assert.Equal(before, File.ReadAllBytes(file));

        var (code, _, err) = Run("convert", file, file, "--force");
        Assert.True(code == 0, err);
        using var converted = SafeTensors.Read(file);
        Assert.Contains("pos_embed", converted.Keys);
        Assert.Empty(Directory.EnumerateFiles(work, "*.tmp"));
    }

    [Fact]
    public void Attention_refuses_an_output_folder_that_would_write_over_the_image()
    {
        string folder = Path.Combine(work, "d");
        Directory.CreateDirectory(folder);
        string image = TestImages.Png(folder, "image.png", 32, 32, 2);
        byte[] before = File.ReadAllBytes(image);
        AssertRefused(Run(["attention", .. Model("vit_timm_p8"), image, "--out", folder]), "is also an input");
        Assert.Equal(before, File.ReadAllBytes(image));
        Assert.Equal([image], Directory.GetFiles(folder));
    }

    [Fact]
    public void Embed_refuses_an_output_that_is_one_of_its_images()
    {
        string image = TestImages.Png(work, "a.png", 32, 32, 3);
        string link = Path.Combine(work, "e.npy");
        File.CreateSymbolicLink(link, image);
        byte[] before = File.ReadAllBytes(image);
        AssertRefused(Run(["embed", .. Model("vit_timm_p8"), image, "--out", link]), "is also an input");
        Assert.Equal(before, File.ReadAllBytes(image));
    }

    [Fact]
    public void Attention_that_fails_halfway_leaves_none_of_its_pictures()
    {
        string image = TestImages.Png(work, "photo.png", 32, 32, 4);
        string folder = Path.Combine(work, "out");
        Directory.CreateDirectory(Path.Combine(folder, "mean.png")); // the second picture cannot be written
        AssertRefused(Run(["attention", .. Model("vit_timm_p8"), image, "--out", folder]), "vitsharp: error:");
        Assert.Equal([Path.Combine(folder, "mean.png")], Directory.GetFileSystemEntries(folder));
    }
}
