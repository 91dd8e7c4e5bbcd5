namespace VitSharp.IO.Pickle;

/// <summary>
/// Interprets torch's persistent ids, <c>('storage', storage_class, key, location, numel[, view_metadata])</c>,
/// and bounds the element count by the bytes the file really has before any byte count is computed from it.
/// </summary>
internal static class StorageIds
{
    /// <summary>Parses one persistent id; <paramref name="legacy"/> ids carry a sixth item, view metadata, which must be None.</summary>
    public static StorageRef Parse(object? persistentId, bool legacy, long fileLength)
    {
        int expected = legacy ? 6 : 5;
        if (persistentId is not PyTuple { Items: var items } || items.Length != expected || items[0] is not "storage")
            throw new CheckpointProblem($"a persistent id is a {Describe.Text(PyTypeName.Of(persistentId))} but should be a {expected}-tuple starting with 'storage'");
        var dtype = TorchGlobals.StorageDType(items[1]);
        if (items[2] is not string key || key.Length == 0 || key.Contains('/') || key.Contains('\\') || key.Any(char.IsControl))
            throw new CheckpointProblem($"a storage key is {(items[2] is string s ? Describe.Text(s) : "a " + PyTypeName.Of(items[2]))}, not a plain record name");
        if (items[3] is not string)
            throw new CheckpointProblem($"storage {Describe.Text(key)} has a location that is a {PyTypeName.Of(items[3])}, not a str");
        if (items[4] is not long elementCount || elementCount < 0)
            throw new CheckpointProblem($"storage {Describe.Text(key)} has an element count that is not a non-negative int");
        if (elementCount > fileLength / TorchDTypes.ElementSize(dtype))
            throw new CheckpointProblem($"storage {Describe.Text(key)} declares {elementCount} elements of {dtype}, more than the {fileLength}-byte file can hold");
        if (legacy && items[5] is not null)
            throw new CheckpointProblem($"storage {Describe.Text(key)} is a storage view, which only files from torch before 0.4 contain; they are not supported");
        return new StorageRef(key, dtype, elementCount);
    }
}
