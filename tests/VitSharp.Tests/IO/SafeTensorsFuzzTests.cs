using System.Diagnostics;
using VitSharp.Fuzz;
using VitSharp.IO;

namespace VitSharp.Tests.IO;

/// <summary>
/// A short, seeded run of the fuzz harness's mutation engine (tests/VitSharp.Fuzz) over its seed corpus: every
/// mutated file must be read or refused with a <see cref="SafeTensorsFormatException"/>, and must not make the
/// reader allocate more than the file could describe.
/// </summary>
public sealed class SafeTensorsFuzzTests
{
    private static readonly FuzzTarget Target = FuzzTarget.All["safetensors"];

    private static List<byte[]> Corpus() =>
        Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "corpus", "safetensors")).Order().Select(File.ReadAllBytes).ToList();

    [Fact]
    public void TheSeedCorpusIsValid()
    {
        List<byte[]> corpus = Corpus();

        Assert.InRange(corpus.Count, 3, 5);
        foreach (byte[] file in corpus)
        {
            Assert.True(MutationCampaign.RunOne(Target, file, out string? problem));
            Assert.Null(problem);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void MutatedFilesAreReadOrRefusedAsDocumented(int seed)
    {
        var clock = Stopwatch.StartNew();

        CampaignResult result = MutationCampaign.Run(Target, Corpus(), count: 2000, seed);

        Assert.Empty(result.Findings.Select(f => f.Problem));
        // Both outcomes must occur, or the mutations are not reaching the reader's checks.
        Assert.True(result.Accepted > 0, "no mutated file was read whole");
        Assert.True(result.Refused > result.Accepted, "too few mutated files were refused");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"2000 mutations took {clock.Elapsed}");
    }

    [Fact]
    public void TheSameSeedGivesTheSameMutations()
    {
        byte[] seed = Corpus()[0];
        var first = new SafeTensorsMutator(42);
        var second = new SafeTensorsMutator(42);

        for (int i = 0; i < 50; i++)
            Assert.Equal(first.Mutate(seed), second.Mutate(seed));
    }

    [Fact]
    public void TheHarnessReportsUndocumentedExceptionsAndOverAllocation()
    {
        var throwing = new FuzzTarget("throws", _ => throw new InvalidOperationException("boom"), [typeof(SafeTensorsFormatException)]);
        var greedy = new FuzzTarget("greedy", _ => 1_000, [typeof(SafeTensorsFormatException)]);
        var refusing = new FuzzTarget("refuses", _ => throw new SafeTensorsFormatException("x", "bad"), [typeof(SafeTensorsFormatException)]);
        byte[] input = new byte[10];

        Assert.Null(MutationCampaign.RunOne(throwing, input, out string? thrown));
        Assert.Contains("InvalidOperationException: boom", thrown);
        Assert.True(MutationCampaign.RunOne(greedy, input, out string? greed));
        Assert.Contains("read 1000 tensor bytes from a 10-byte input", greed);
        Assert.False(MutationCampaign.RunOne(refusing, input, out string? refusal));
        Assert.Null(refusal);
    }
}
