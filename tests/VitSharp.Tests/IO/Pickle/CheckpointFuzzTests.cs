using System.IO.Compression;
using VitSharp.IO.Pickle;

namespace VitSharp.Tests.IO.Pickle;

/// <summary>
/// Seeded mutation fuzzing: valid checkpoints with random bytes changed, chunks removed or the end cut off must
/// either open and read, or fail with <see cref="PyTorchCheckpointException"/>, never with another exception.
/// </summary>
public sealed class CheckpointFuzzTests
{
    private const int MutationsPerFile = 600;

    [Theory]
    [InlineData("checkpoint.pth", 1)]
    [InlineData("checkpoint_legacy.pth", 2)]
    [InlineData("state_dict.pth", 3)]
    [InlineData("protocol4.pth", 4)]
    public void MutatedFilesOpenOrFailWithACheckpointException(string file, int seed)
    {
        byte[] original = File.ReadAllBytes(Fixtures.Path_("pickle", file));
        var random = new Random(seed);
        for (int i = 0; i < MutationsPerFile; i++)
            OpenAndReadEverything(Mutate(original, random), $"{file}, mutation {i} of seed {seed}");
    }

    /// <summary>
    /// Byte changes inside a zip mostly break its CRCs; this re-zips a mutated data.pkl with correct CRCs so the
    /// mutations reach the pickle machine, the allowlist and the tensor checks.
    /// </summary>
    [Theory]
    [InlineData("checkpoint.pth", 5)]
    [InlineData("protocol4.pth", 6)]
    public void MutatedPicklesInValidZipsOpenOrFailWithACheckpointException(string file, int seed)
    {
        var records = new List<(string Name, byte[] Data)>();
        using (var zip = ZipFile.OpenRead(Fixtures.Path_("pickle", file)))
        {
            foreach (var entry in zip.Entries)
            {
                using var data = new MemoryStream();
                using (var stream = entry.Open()) stream.CopyTo(data);
                records.Add((entry.FullName, data.ToArray()));
            }
        }
        int pickleIndex = records.FindIndex(r => r.Name.EndsWith("/data.pkl", StringComparison.Ordinal));
        var random = new Random(seed);
        for (int i = 0; i < MutationsPerFile; i++)
        {
            var mutated = records.ToList();
            mutated[pickleIndex] = (mutated[pickleIndex].Name, Mutate(records[pickleIndex].Data, random));
            OpenAndReadEverything(ZipOf(mutated), $"{file} data.pkl, mutation {i} of seed {seed}");
        }
    }

    private static void OpenAndReadEverything(byte[] file, string what)
    {
        try
        {
            using var checkpoint = PyTorchCheckpoint.Open(new MemoryStream(file), what);
            foreach (var tensor in checkpoint.Tensors) tensor.Read().Dispose();
            _ = checkpoint.NonTensorEntries.Count;
        }
        catch (PyTorchCheckpointException e)
        {
            Assert.DoesNotContain('\n', e.Message);
        }
        catch (Exception e)
        {
            Assert.Fail($"{what}: {e.GetType().Name} escaped: {e}");
        }
    }

    private static byte[] Mutate(byte[] original, Random random)
    {
        var bytes = original.ToList();
        int edits = random.Next(1, 5);
        for (int e = 0; e < edits && bytes.Count > 0; e++)
        {
            int at = random.Next(bytes.Count);
            switch (random.Next(6))
            {
                case 0: bytes.RemoveRange(at, Math.Min(random.Next(1, 16), bytes.Count - at)); break;
                case 1: bytes.RemoveRange(at, bytes.Count - at); break; // truncate
                case 2: bytes[at] = (byte)(bytes[at] ^ (1 << random.Next(8))); break;
                case 3: bytes[at] = InterestingBytes[random.Next(InterestingBytes.Length)]; break;
                case 4: bytes.InsertRange(at, Enumerable.Range(0, random.Next(1, 8)).Select(_ => (byte)random.Next(256))); break;
                default: bytes[at] = (byte)random.Next(256); break;
            }
        }
        return bytes.ToArray();
    }

    /// <summary>Values that tend to hit edge cases: zero, sign bits, all ones, and opcodes that start containers.</summary>
    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x7f, 0x80, 0xff, (byte)'(', (byte)']', (byte)'}', (byte)'.', (byte)'R', (byte)'b', 0x8a];

    private static byte[] ZipOf(List<(string Name, byte[] Data)> records)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, data) in records)
            {
                using var entry = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                entry.Write(data);
            }
        }
        return buffer.ToArray();
    }
}
