using System.Numerics;

namespace VitSharp.IO.Pickle;

// The values a restricted pickle can produce. Plain Python data maps to .NET values: None to null, bool to bool,
// int to long (BigInteger beyond int64), float to double, str to string, bytes to byte[]. Containers and the
// few allowed globals get the small classes below. Nothing here ever runs code or constructs a foreign class.

/// <summary>A Python tuple.</summary>
internal sealed class PyTuple(object?[] items)
{
    public object?[] Items { get; } = items;
}

/// <summary>A Python list.</summary>
internal sealed class PyList
{
    public List<object?> Items { get; } = [];
}

/// <summary>A Python set or frozenset, kept as its items: checkpoints only need to show that one is there.</summary>
internal sealed class PySet
{
    public List<object?> Items { get; } = [];
}

/// <summary>A Python dict or collections.OrderedDict: insertion order is kept and setting an existing key replaces its value.</summary>
internal sealed class PyDict
{
    private static readonly object NoneKey = new();
    private readonly List<KeyValuePair<object?, object?>> entries = [];
    private readonly Dictionary<object, int> indexOfKey = [];

    public IReadOnlyList<KeyValuePair<object?, object?>> Entries => entries;

    public int Count => entries.Count;

    public void Set(object? key, object? value)
    {
        // Tuples and other containers compare by identity here; real checkpoints key by str or int.
        object lookup = key ?? NoneKey;
        if (indexOfKey.TryGetValue(lookup, out int index))
        {
            entries[index] = new(key, value);
            return;
        }
        indexOfKey.Add(lookup, entries.Count);
        entries.Add(new(key, value));
    }

    public object? Get(string key) => indexOfKey.TryGetValue(key, out int index) ? entries[index].Value : null;
}

/// <summary>An allowlisted global (a function, class or constant named by module and name), resolved by <see cref="TorchGlobals"/>.</summary>
internal sealed record PyGlobal(string Module, string Name, GlobalKind Kind)
{
    public string FullName => $"{Module}.{Name}";
}

/// <summary>
/// An instance of an allowlisted harmless class (argparse.Namespace, a numpy scalar or dtype). It is never
/// constructed: the type, constructor arguments and state are only recorded so the entry can be listed.
/// </summary>
internal sealed class PyOpaqueObject(string typeName, object?[] arguments)
{
    public string TypeName { get; } = typeName;

    public object?[] Arguments { get; } = arguments;

    public object? State { get; set; }
}

/// <summary>Python type names for the values above, for error messages and the non-tensor entry list.</summary>
internal static class PyTypeName
{
    public static string Of(object? value) => value switch
    {
        null => "NoneType",
        bool => "bool",
        long or BigInteger => "int",
        double => "float",
        string => "str",
        byte[] => "bytes",
        PyTuple => "tuple",
        PyList => "list",
        PySet => "set",
        PyDict => "dict",
        PyGlobal g => g.FullName,
        PyOpaqueObject o => o.TypeName,
        TorchDType => "torch.dtype",
        StorageRef => "torch.storage",
        TensorRef => "torch.Tensor",
        _ => value.GetType().Name,
    };
}
