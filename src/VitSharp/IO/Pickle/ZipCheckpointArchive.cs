using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

namespace VitSharp.IO.Pickle;

/// <summary>
/// The zip container torch.save writes since torch 1.6: <c>&lt;folder&gt;/data.pkl</c> (the pickle),
/// <c>&lt;folder&gt;/data/&lt;key&gt;</c> (one raw little-endian record per storage), <c>&lt;folder&gt;/version</c> and,
/// since torch 2.1, <c>&lt;folder&gt;/byteorder</c>. The folder is named after the saved file, so it is found, not assumed.
/// </summary>
internal sealed class ZipCheckpointArchive : IStorageRecords
{
    /// <summary>Deflate cannot expand data more than about 1032 times; a record claiming more is lying about its size.</summary>
    private const long MaxDeflateRatio = 1032;
    private const int MaxSmallRecordLength = 64;

    private readonly Stream stream;
    private readonly bool leaveOpen;
    private readonly ZipArchive archive;
    private readonly long fileLength;
    private readonly Dictionary<StorageRef, ZipArchiveEntry> records = [];
    private readonly Lock gate = new();
    private string folder = "";

    private ZipCheckpointArchive(Stream stream, bool leaveOpen, ZipArchive archive)
    {
        this.stream = stream;
        this.leaveOpen = leaveOpen;
        this.archive = archive;
        fileLength = stream.Length;
    }

    /// <summary>Opens the archive, checks its records and parses data.pkl; the storages are only located, not read.</summary>
    public static (ZipCheckpointArchive Archive, object? Root, long PickleLength) Open(Stream stream, bool leaveOpen)
    {
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointProblem($"it starts like a zip archive but is not a valid one ({e.Message})");
        }

        var checkpoint = new ZipCheckpointArchive(stream, leaveOpen, zip);
        try
        {
            var (root, pickleLength) = checkpoint.Parse();
            return (checkpoint, root, pickleLength);
        }
        catch (InvalidDataException e)
        {
            // ZipArchive reads its central directory lazily, so corruption can surface on first use of the entries.
            checkpoint.Dispose();
            throw new CheckpointProblem($"the zip archive is corrupt ({e.Message})");
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    private (object? Root, long PickleLength) Parse()
    {
        folder = FindFolder();
        string? byteOrder = ReadSmallRecord($"{folder}/byteorder", required: false);
        if (byteOrder is not null and not "little")
            throw new CheckpointProblem(byteOrder == "big"
                ? "it was saved on a big-endian machine; only little-endian checkpoints are supported"
                : $"record {Describe.Text($"{folder}/byteorder")} says {Describe.Text(byteOrder)}, not 'little' or 'big'");
        string version = ReadSmallRecord($"{folder}/version", required: true)!;
        if (!long.TryParse(version, out _))
            throw new CheckpointProblem($"record {Describe.Text($"{folder}/version")} holds {Describe.Text(version)}, not a number");

        var pickleEntry = Entry($"{folder}/data.pkl", "the pickle");
        using var pickle = new MemoryStream(ReadWhole(pickleEntry));
        return (PickleMachine.Load(new PickleInput(pickle), LocateStorage), pickle.Length);
    }

    /// <summary>The archive's top folder: the one holding data.pkl (torch names it after the file, or 'archive').</summary>
    private string FindFolder()
    {
        var candidates = archive.Entries
            .Select(e => e.FullName)
            .Where(name => name.EndsWith("/data.pkl", StringComparison.Ordinal) && name.IndexOf('/') == name.Length - "/data.pkl".Length)
            .ToList();
        return candidates.Count switch
        {
            1 => candidates[0][..^"/data.pkl".Length],
            0 => throw new CheckpointProblem("the zip archive has no '<folder>/data.pkl' record, so it was not written by torch.save"),
            _ => throw new CheckpointProblem($"the zip archive has {candidates.Count} '<folder>/data.pkl' records; torch.save writes one"),
        };
    }

    private object? LocateStorage(object? persistentId)
    {
        StorageRef storage = StorageIds.Parse(persistentId, legacy: false, fileLength);
        if (records.ContainsKey(storage)) return storage;
        string name = $"{folder}/data/{storage.Key}";
        var entry = Entry(name, $"storage {Describe.Text(storage.Key)}");
        long length = CheckedLength(entry);
        if (length != storage.ByteLength)
            throw new CheckpointProblem(
                $"record {Describe.Text(name)} holds {length} bytes but its storage declares {storage.ElementCount} {storage.DType} elements ({storage.ByteLength} bytes)");
        records.Add(storage, entry);
        return storage;
    }

    public Tensor Read(StorageRef storage)
    {
        if (storage.ByteLength > int.MaxValue)
            throw new CheckpointProblem($"storage {Describe.Text(storage.Key)} is {storage.ByteLength} bytes; storages of 2 GiB or more are not supported yet");
        lock (gate)
        {
            var entry = records[storage];
            Tensor tensor = empty(storage.ElementCount, storage.DType);
            try
            {
                if (storage.ElementCount > 0)
                {
                    using var data = entry.Open();
                    data.ReadExactly(tensor.bytes);
                }
                return tensor;
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
            {
                tensor.Dispose();
                throw new CheckpointProblem($"record {Describe.Text(entry.FullName)} cannot be read ({e.Message})");
            }
        }
    }

    private ZipArchiveEntry Entry(string name, string what) =>
        archive.GetEntry(name) ?? throw new CheckpointProblem($"record {Describe.Text(name)} for {what} is missing from the zip archive");

    private string? ReadSmallRecord(string name, bool required)
    {
        var entry = archive.GetEntry(name);
        if (entry is null)
            return required ? throw new CheckpointProblem($"record {Describe.Text(name)} is missing from the zip archive") : null;
        if (CheckedLength(entry) > MaxSmallRecordLength)
            throw new CheckpointProblem($"record {Describe.Text(name)} is {entry.Length} bytes; it should be a short line of text");
        return Encoding.ASCII.GetString(ReadWhole(entry)).Trim();
    }

    private byte[] ReadWhole(ZipArchiveEntry entry)
    {
        long length = CheckedLength(entry);
        if (length > Array.MaxLength)
            throw new CheckpointProblem($"record {Describe.Text(entry.FullName)} is {length} bytes, too large to read");
        try
        {
            var bytes = new byte[length];
            using var data = entry.Open();
            data.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new CheckpointProblem($"record {Describe.Text(entry.FullName)} cannot be read ({e.Message})");
        }
    }

    /// <summary>The record's declared length, once it is shown to be possible for a file of this size.</summary>
    private long CheckedLength(ZipArchiveEntry entry)
    {
        long stored = entry.CompressedLength, length = entry.Length;
        if (stored < 0 || stored > fileLength || length < 0 || length > Math.Max(stored, 1) * MaxDeflateRatio)
            throw new CheckpointProblem($"record {Describe.Text(entry.FullName)} declares {length} bytes ({stored} stored), impossible in a {fileLength}-byte file");
        return length;
    }

    public void Dispose()
    {
        archive.Dispose();
        if (!leaveOpen) stream.Dispose();
    }
}
