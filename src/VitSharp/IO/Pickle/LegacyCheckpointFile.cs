using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using static TorchSharp.torch;

namespace VitSharp.IO.Pickle;

/// <summary>
/// The format torch.save wrote before torch 1.6 (and still writes with <c>_use_new_zipfile_serialization=False</c>):
/// five pickles in a row (magic number, protocol version, sys_info, the object, the list of storage keys), then
/// each storage in that order as an int64 element count and its raw bytes. Opening reads only the pickles and
/// the 8-byte storage headers, seeking past the data, so tensors are read later one at a time.
/// </summary>
internal sealed class LegacyCheckpointFile : IStorageRecords
{
    private static readonly BigInteger MagicNumber = BigInteger.Parse("01950a86a20f9469cfc6c", NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    private const long ProtocolVersion = 1001;

    private readonly Stream stream;
    private readonly bool leaveOpen;
    private readonly Dictionary<string, List<StorageRef>> storagesByKey = [];
    private readonly Dictionary<string, long> dataOffsetByKey = [];
    private readonly Lock gate = new();

    private LegacyCheckpointFile(Stream stream, bool leaveOpen)
    {
        this.stream = stream;
        this.leaveOpen = leaveOpen;
    }

    /// <summary>Parses the pickles and indexes the storages; <paramref name="stream"/> must be seekable and at the file's start.</summary>
    public static (LegacyCheckpointFile File, object? Root, long PickleLength) Open(Stream stream, bool leaveOpen)
    {
        var file = new LegacyCheckpointFile(stream, leaveOpen);
        try
        {
            var (root, pickleLength) = file.Parse();
            return (file, root, pickleLength);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private (object? Root, long PickleLength) Parse()
    {
        var input = new PickleInput(stream);
        if (PickleMachine.Load(input, NoPersistentIds) is not BigInteger magic || magic != MagicNumber)
            throw new CheckpointProblem("it is neither a zip archive nor a legacy torch.save file (the legacy magic number is missing)");
        object? version = PickleMachine.Load(input, NoPersistentIds);
        if (version is not ProtocolVersion)
            throw new CheckpointProblem($"its legacy protocol version is {Describe.Text(version?.ToString() ?? "None")}; only {ProtocolVersion} is supported");
        CheckSysInfo(PickleMachine.Load(input, NoPersistentIds));

        long rootStart = input.Position;
        object? root = PickleMachine.Load(input, RegisterStorage);
        long pickleLength = input.Position - rootStart;
        if (PickleMachine.Load(input, NoPersistentIds) is not PyList keys)
            throw new CheckpointProblem("the list of storage keys after the main pickle is missing");
        IndexStorages(keys, input.Position);
        return (root, pickleLength);
    }

    private static void CheckSysInfo(object? sysInfo)
    {
        if (sysInfo is not PyDict info)
            throw new CheckpointProblem($"its sys_info is a {PyTypeName.Of(sysInfo)}, not a dict");
        switch (info.Get("little_endian"))
        {
            case true: return;
            case false: throw new CheckpointProblem("it was saved on a big-endian machine; only little-endian checkpoints are supported");
            default: throw new CheckpointProblem("its sys_info does not say whether it is little-endian");
        }
    }

    private static object? NoPersistentIds(object? id) =>
        throw new CheckpointProblem("a persistent id appears outside the main pickle");

    private object? RegisterStorage(object? persistentId)
    {
        StorageRef storage = StorageIds.Parse(persistentId, legacy: true, stream.Length);
        if (!storagesByKey.TryGetValue(storage.Key, out var views)) storagesByKey[storage.Key] = views = [];
        if (!views.Contains(storage)) views.Add(storage);
        return storage;
    }

    /// <summary>Walks the storage headers after the pickles, checking each against the storage's persistent ids.</summary>
    private void IndexStorages(PyList keys, long position)
    {
        long length = stream.Length;
        var header = new byte[8];
        foreach (object? item in keys.Items)
        {
            if (item is not string key) throw new CheckpointProblem($"the storage key list holds a {PyTypeName.Of(item)}, not a str");
            if (dataOffsetByKey.ContainsKey(key)) throw new CheckpointProblem($"storage {Describe.Text(key)} is listed twice");
            if (!storagesByKey.TryGetValue(key, out var refs))
                throw new CheckpointProblem($"storage {Describe.Text(key)} is stored but no tensor uses it");
            if (length - position < header.Length)
                throw new CheckpointProblem($"the file is truncated: it ends before the header of storage {Describe.Text(key)}");
            stream.Position = position;
            stream.ReadExactly(header);
            long elementCount = BinaryPrimitives.ReadInt64LittleEndian(header);
            long available = length - position - header.Length;
            StorageRef first = refs[0];
            if (elementCount < 0 || elementCount > available / TorchDTypes.ElementSize(first.DType))
                throw new CheckpointProblem($"the file is truncated or corrupt: storage {Describe.Text(key)} declares {elementCount} {first.DType} elements but {available} bytes remain");
            long bytes = elementCount * TorchDTypes.ElementSize(first.DType);
            if (refs.Find(r => r.ByteLength != bytes) is { } mismatch)
                throw new CheckpointProblem($"storage {Describe.Text(key)} holds {bytes} bytes but a tensor declares it as {mismatch.ElementCount} {mismatch.DType} elements ({mismatch.ByteLength} bytes)");
            dataOffsetByKey[key] = position + header.Length;
            position += header.Length + bytes;
        }
        if (storagesByKey.Keys.FirstOrDefault(k => !dataOffsetByKey.ContainsKey(k)) is { } missing)
            throw new CheckpointProblem($"storage {Describe.Text(missing)} is used by a tensor but not stored in the file");
    }

    public Tensor Read(StorageRef storage)
    {
        if (storage.ByteLength > int.MaxValue)
            throw new CheckpointProblem($"storage {Describe.Text(storage.Key)} is {storage.ByteLength} bytes; storages of 2 GiB or more are not supported yet");
        lock (gate)
        {
            Tensor tensor = empty(storage.ElementCount, storage.DType);
            try
            {
                stream.Position = dataOffsetByKey[storage.Key];
                if (storage.ElementCount > 0) stream.ReadExactly(tensor.bytes);
                return tensor;
            }
            catch (EndOfStreamException)
            {
                tensor.Dispose();
                throw new CheckpointProblem($"the file is truncated: storage {Describe.Text(storage.Key)} ends past the end of the file");
            }
        }
    }

    public void Dispose()
    {
        if (!leaveOpen) stream.Dispose();
    }
}
