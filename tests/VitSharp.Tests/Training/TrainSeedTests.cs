using static VitSharp.Tests.Cli.CliRun;

namespace VitSharp.Tests.Training;

/// <summary>Tests that need libtorch's global generator to themselves: no other test runs beside them.</summary>
[CollectionDefinition(nameof(GlobalGeneratorCollection), DisableParallelization = true)]
public sealed class GlobalGeneratorCollection;

/// <summary>
/// <c>vitsharp train --seed</c> fixes the whole run. The command seeds libtorch's global generator before the initial
/// weights are drawn; a test drawing random numbers beside it in the same process would change them.
/// </summary>
[Collection(nameof(GlobalGeneratorCollection))]
public sealed class TrainSeedTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-train-seed-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    [Fact]
    public void The_seed_fixes_the_whole_run_including_the_initial_weights()
    {
        Dictionary<string, float[]> Weights(string name, string seed)
        {
            string outDir = Path.Combine(work, name);
            var (code, _, err) = Run(TrainCliTests.TinyOneEpoch(work, outDir, "--seed", seed, "--threads", "1"));
            Assert.True(code == 0, err);
            using var file = VitSharp.IO.SafeTensors.Read(Path.Combine(outDir, "model.safetensors"));
            return file.ToDictionary().ToDictionary(kv => kv.Key, kv => kv.Value.data<float>().ToArray());
        }
        var first = Weights("seed-a", "7");
        var again = Weights("seed-b", "7");
        var other = Weights("seed-c", "8");
        Assert.Equal(first.Keys.Order(), again.Keys.Order());
        Assert.All(first, kv => Assert.Equal(kv.Value, again[kv.Key]));
        Assert.Contains(first, kv => !kv.Value.SequenceEqual(other[kv.Key]));
    }
}
