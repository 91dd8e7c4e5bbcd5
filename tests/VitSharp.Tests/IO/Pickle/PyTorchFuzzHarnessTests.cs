using System.Diagnostics;
using VitSharp.Fuzz;

namespace VitSharp.Tests.IO.Pickle;

/// <summary>
/// The fuzz harness's <c>pytorch</c> target (tests/VitSharp.Fuzz) on its seed corpus, as AFL would start it: every
/// seed reads whole, and a short seeded mutation run finds no exception other than PyTorchCheckpointException and
/// no allocation beyond what the input could describe. (CheckpointFuzzTests mutates the pickle inside valid zips.)
/// </summary>
public sealed class PyTorchFuzzHarnessTests
{
    private static readonly FuzzTarget Target = FuzzTarget.All["pytorch"];

    private static List<byte[]> Corpus() =>
        Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "corpus", "pytorch")).Order().Select(File.ReadAllBytes).ToList();

    [Fact]
    public void Every_seed_reads_whole()
    {
        var corpus = Corpus();
        Assert.True(corpus.Count >= 3);
        foreach (byte[] file in corpus)
        {
            Assert.True(MutationCampaign.RunOne(Target, file, out string? problem));
            Assert.Null(problem);
        }
    }

    [Fact]
    public void Mutated_checkpoints_are_read_or_refused_as_documented()
    {
        var clock = Stopwatch.StartNew();
        CampaignResult result = MutationCampaign.Run(Target, Corpus(), count: 1500, seed: 7);
        Assert.Empty(result.Findings.Select(f => f.Problem));
        Assert.True(result.Refused > 0, "no mutation reached a refusal");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"1500 mutations took {clock.Elapsed}");
    }
}
