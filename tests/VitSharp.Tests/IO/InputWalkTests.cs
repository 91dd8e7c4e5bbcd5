using System.Diagnostics;
using VitSharp.Imaging;
using VitSharp.Inference;
using VitSharp.IO;
using VitSharp.Labels;
using VitSharp.Tests.Inference;
using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.IO;

/// <summary>Folders with links back to themselves, FIFOs and devices as inputs: every reader refuses what is not a regular file before opening it, and every walk ends.</summary>
public sealed class InputWalkTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-walk-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
    }

    /// <summary>A run that blocks (on a FIFO) fails the test instead of hanging the suite.</summary>
    private static async Task<T> WithinTwoMinutes<T>(Func<T> action, string what)
    {
        var run = Task.Run(action);
        Assert.True(await Task.WhenAny(run, Task.Delay(TimeSpan.FromMinutes(2))) == run, $"{what} blocked");
        return await run;
    }

    [Fact]
    public void Status_tells_a_fifo_a_device_a_folder_a_link_and_a_loop_apart()
    {
        if (!OperatingSystem.IsLinux()) return;
        string file = TestImages.Png(work, "a.png", 8, 8, 1);
        string fifo = Path.Combine(work, "p.png");
        MakeFifo(fifo);
        File.CreateSymbolicLink(Path.Combine(work, "link.png"), file);
        File.CreateSymbolicLink(Path.Combine(work, "loop1"), Path.Combine(work, "loop2"));
        File.CreateSymbolicLink(Path.Combine(work, "loop2"), Path.Combine(work, "loop1"));

        Assert.Equal(FileKind.Regular, FileStatus.Of(file).Kind);
        Assert.Equal(FileKind.Fifo, FileStatus.Of(fifo).Kind);
        Assert.Equal(FileKind.CharacterDevice, FileStatus.Of("/dev/zero").Kind);
        Assert.Equal(FileKind.Directory, FileStatus.Of(work).Kind);
        Assert.Equal(FileKind.SymbolicLink, FileStatus.Of(Path.Combine(work, "link.png"), followLinks: false).Kind);
        Assert.True(FileStatus.Of(Path.Combine(work, "link.png")).SameAs(FileStatus.Of(file)));
        Assert.Equal(FileKind.LinkLoop, FileStatus.Of(Path.Combine(work, "loop1")).Kind);
        Assert.Equal(FileKind.Missing, FileStatus.Of(Path.Combine(work, "none")).Kind);
        Assert.Equal(new FileInfo(file).Length, FileStatus.Of(file).Size);
    }

    [Fact]
    public void A_folder_with_links_back_to_itself_gives_each_image_once_and_ends()
    {
        string folder = Path.Combine(work, "d");
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        string image = TestImages.Png(folder, "x.png", 8, 8, 1);
        string nested = TestImages.Png(Path.Combine(folder, "sub"), "y.png", 8, 8, 2);
        Directory.CreateSymbolicLink(Path.Combine(folder, "a"), ".");
        Directory.CreateSymbolicLink(Path.Combine(folder, "b"), ".");
        Directory.CreateSymbolicLink(Path.Combine(folder, "sub", "up"), "..");
        File.CreateSymbolicLink(Path.Combine(folder, "same.png"), image);

        // One real file behind x.png and same.png: it is listed once, under the first name in sorted order.
        string link = Path.Combine(folder, "same.png");
        Assert.Equal([link, nested], ImageInputs.Expand([folder]));
        Assert.Equal([link, nested], ImageInputs.Expand([folder], followFolderLinks: true));
        Assert.Equal([image, nested], ImageInputs.Expand([image, folder]));
    }

    [Fact]
    public void Followed_links_reach_other_folders_once()
    {
        string other = Path.Combine(work, "other");
        Directory.CreateDirectory(other);
        string outside = TestImages.Png(other, "z.png", 8, 8, 3);
        string folder = Path.Combine(work, "d");
        Directory.CreateDirectory(folder);
        Directory.CreateSymbolicLink(Path.Combine(folder, "l1"), other);
        Directory.CreateSymbolicLink(Path.Combine(folder, "l2"), other);

        Assert.Empty(ImageInputs.Expand([folder]));
        var followed = ImageInputs.Expand([folder], followFolderLinks: true);
        Assert.Equal([Path.Combine(folder, "l1", "z.png")], followed);
        Assert.True(File.Exists(outside));
    }

    [Fact]
    public async Task A_fifo_in_a_folder_is_reported_once_and_the_good_files_classified()
    {
        if (!OperatingSystem.IsLinux()) return;
        string good = TestImages.Png(work, "a.png", 40, 30, 1);
        string fifo = Path.Combine(work, "b.png");
        MakeFifo(fifo);
        var (code, stdout, err) = await WithinTwoMinutes(() => Run("classify", work, "--json", "--top-k", "1"), "classify of a folder with a FIFO");
        Assert.Equal(3, code); // some files failed
        Assert.Equal($"{fifo}: not a regular file", Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Contains(good, stdout);
    }

    [Theory]
    [InlineData("--weights")]
    [InlineData("--config")]
    [InlineData("--labels")]
    [InlineData("@list")]
    public async Task A_fifo_or_a_device_given_as_an_input_file_is_refused_without_blocking(string how)
    {
        if (!OperatingSystem.IsLinux()) return;
        string image = TestImages.Png(work, "a.png", 8, 8, 1);
        string fifo = Path.Combine(work, "fifo");
        MakeFifo(fifo);
        foreach (string input in new[] { fifo, "/dev/zero" })
        {
            string[] args = how == "@list" ? ["classify", "@" + input] : ["classify", image, how, input];
            var (code, _, err) = await WithinTwoMinutes(() => Run(args), $"{how} {input}");
            Assert.NotEqual(0, code);
            Assert.Contains($"{input}: not a regular file", err);
            Assert.DoesNotContain("   at ", err);
        }
    }

    [Fact]
    public void Text_inputs_over_their_limit_are_refused_before_they_are_read()
    {
        string big = Path.Combine(work, "labels.txt");
        using (var stream = File.Create(big)) stream.SetLength(InputFile.MaxTextBytes + 1); // sparse
        var e = Assert.Throws<InputFileException>(() => ClassLabels.ReadFile(big));
        Assert.Contains("more than the limit", e.Message);
        Assert.Throws<InputFileException>(() => ImageInputs.Expand(["@" + big]));
        Assert.Throws<InputFileException>(() => ImageInputs.Expand(["@" + work]));
    }

    [Fact]
    public void An_image_reader_refuses_a_fifo_by_name()
    {
        if (!OperatingSystem.IsLinux()) return;
        string fifo = Path.Combine(work, "p.png");
        MakeFifo(fifo);
        var e = Assert.Throws<ImageLoadException>(() => ImageFile.Load(fifo));
        Assert.Equal("not a regular file", e.Problem);
    }
}
