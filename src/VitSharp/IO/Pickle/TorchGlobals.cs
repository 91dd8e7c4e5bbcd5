using System.Text;

namespace VitSharp.IO.Pickle;

/// <summary>What an allowlisted global is, which decides what calling or building it means.</summary>
internal enum GlobalKind
{
    RebuildTensorV2,
    RebuildTensor,
    RebuildParameter,
    RebuildParameterWithState,
    OrderedDict,
    Set,
    StorageClass,
    CodecsEncode,
    NumpyScalar,
    NumpyDType,
    ArgparseNamespace,
}

/// <summary>
/// The allowlist: the only globals a checkpoint pickle may name, and what REDUCE, NEWOBJ and BUILD do with them.
/// Tensor and container globals are interpreted; the harmless data classes training scripts save alongside the
/// weights become <see cref="PyOpaqueObject"/> records; every other global is refused when it is first named,
/// before anything could call it. docs/checkpoint-formats.md explains why each entry is here.
/// </summary>
internal static class TorchGlobals
{
    private static readonly Dictionary<string, GlobalKind> Allowed = BuildAllowlist();

    private static Dictionary<string, GlobalKind> BuildAllowlist()
    {
        var allowed = new Dictionary<string, GlobalKind>(StringComparer.Ordinal)
        {
            ["torch._utils._rebuild_tensor_v2"] = GlobalKind.RebuildTensorV2,
            ["torch._utils._rebuild_tensor"] = GlobalKind.RebuildTensor,
            ["torch._utils._rebuild_parameter"] = GlobalKind.RebuildParameter,
            ["torch._utils._rebuild_parameter_with_state"] = GlobalKind.RebuildParameterWithState,
            ["collections.OrderedDict"] = GlobalKind.OrderedDict,
            // Protocol 2 has no set opcodes: sets are pickled as set(list); Python 3 writes the Python 2 module name.
            ["builtins.set"] = GlobalKind.Set,
            ["builtins.frozenset"] = GlobalKind.Set,
            ["__builtin__.set"] = GlobalKind.Set,
            ["__builtin__.frozenset"] = GlobalKind.Set,
            ["torch.storage.UntypedStorage"] = GlobalKind.StorageClass,
            ["_codecs.encode"] = GlobalKind.CodecsEncode,
            ["numpy.core.multiarray.scalar"] = GlobalKind.NumpyScalar,
            ["numpy._core.multiarray.scalar"] = GlobalKind.NumpyScalar,
            ["numpy.dtype"] = GlobalKind.NumpyDType,
            ["argparse.Namespace"] = GlobalKind.ArgparseNamespace,
        };
        foreach (string storageClass in TorchDTypes.ByStorageClass.Keys)
            allowed[$"torch.{storageClass}"] = GlobalKind.StorageClass;
        return allowed;
    }

    /// <summary>Resolves GLOBAL/STACK_GLOBAL: a dtype constant, an allowlisted <see cref="PyGlobal"/>, or a refusal.</summary>
    public static object Resolve(string module, string name)
    {
        if (module == "torch" && TorchDTypes.ByDTypeName.TryGetValue(name, out var dtype))
            return new TorchDType(dtype, $"torch.{name}");
        string fullName = $"{module}.{name}";
        if (Allowed.TryGetValue(fullName, out var kind))
            return new PyGlobal(module, name, kind);
        throw CheckpointProblem.Refuse($"the pickle asks for global {Describe.Text(fullName)}, which a state_dict never needs (loading never executes code)");
    }

    /// <summary>The dtype a storage class in a persistent id stands for.</summary>
    public static TorchSharp.torch.ScalarType StorageDType(object? storageClass)
    {
        if (storageClass is PyGlobal { Kind: GlobalKind.StorageClass } g)
            return TorchDTypes.ByStorageClass[g.Name];
        throw new CheckpointProblem($"a storage's type is a {PyTypeName.Of(storageClass)}, not a torch storage class");
    }

    /// <summary>REDUCE: "calls" an allowlisted global by interpreting its arguments as plain data.</summary>
    public static object? Call(object? callable, object? arguments)
    {
        PyGlobal function = callable as PyGlobal
            ?? throw CheckpointProblem.Refuse($"the pickle calls a {PyTypeName.Of(callable)}; only allowlisted globals can be called");
        object?[] args = (arguments as PyTuple
            ?? throw new CheckpointProblem($"the arguments to {Describe.Text(function.FullName)} are a {PyTypeName.Of(arguments)}, not a tuple")).Items;

        switch (function.Kind)
        {
            case GlobalKind.RebuildTensorV2:
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                ExpectCount(function, args, 6, 7);
                return RebuildTensor(args);
            case GlobalKind.RebuildTensor:
                // (storage, storage_offset, size, stride): files from torch before 1.0
                ExpectCount(function, args, 4, 4);
                return RebuildTensor(args);
            case GlobalKind.RebuildParameter:
                // (data, requires_grad, backward_hooks): a Parameter is its data for a reader
                ExpectCount(function, args, 3, 3);
                return Expect<TensorRef>(function, args, 0, "data");
            case GlobalKind.RebuildParameterWithState:
                // (data, requires_grad, backward_hooks, state): the extra Python attributes are dropped
                ExpectCount(function, args, 4, 4);
                return Expect<TensorRef>(function, args, 0, "data");
            case GlobalKind.OrderedDict:
                ExpectCount(function, args, 0, 1);
                return args.Length == 0 ? new PyDict() : DictFromPairs(args[0]);
            case GlobalKind.Set:
                ExpectCount(function, args, 0, 1);
                return SetFromItems(args.Length == 0 ? new PyList() : args[0]);
            case GlobalKind.CodecsEncode:
                // Python 3 pickles bytes with protocol 2 as _codecs.encode(text, 'latin1').
                ExpectCount(function, args, 2, 2);
                return Encode(Expect<string>(function, args, 0, "text"), Expect<string>(function, args, 1, "encoding"));
            case GlobalKind.NumpyScalar:
                ExpectCount(function, args, 1, 2);
                return new PyOpaqueObject(NumpyScalarTypeName(args[0]), args);
            case GlobalKind.NumpyDType:
                return new PyOpaqueObject("numpy.dtype", args);
            case GlobalKind.ArgparseNamespace:
                ExpectCount(function, args, 0, 0);
                return new PyOpaqueObject("argparse.Namespace", args);
            default:
                throw CheckpointProblem.Refuse($"the pickle calls {Describe.Text(function.FullName)}, which a state_dict only names and never calls");
        }
    }

    /// <summary>NEWOBJ (<c>cls.__new__(cls, *args)</c>): allowed for the two plain classes pickled this way.</summary>
    public static object NewObject(object? cls, object? arguments)
    {
        object?[] args = (arguments as PyTuple)?.Items ?? throw new CheckpointProblem($"NEWOBJ arguments are a {PyTypeName.Of(arguments)}, not a tuple");
        return cls switch
        {
            PyGlobal { Kind: GlobalKind.ArgparseNamespace } => new PyOpaqueObject("argparse.Namespace", args),
            PyGlobal { Kind: GlobalKind.OrderedDict } when args.Length == 0 => new PyDict(),
            _ => throw CheckpointProblem.Refuse($"the pickle creates an instance of {Describe.Text(PyTypeName.Of(cls))} with NEWOBJ, which a state_dict never needs"),
        };
    }

    /// <summary>BUILD (<c>obj.__setstate__(state)</c>): recorded on opaque objects, ignored on OrderedDicts (torch's <c>_metadata</c>).</summary>
    public static void Build(object? target, object? state)
    {
        switch (target)
        {
            case PyOpaqueObject opaque:
                opaque.State = state;
                break;
            case PyDict:
                // An OrderedDict's attributes: a state_dict's _metadata (module versions), which loading ignores.
                break;
            default:
                throw new CheckpointProblem($"BUILD sets the state of a {PyTypeName.Of(target)}, which has none");
        }
    }

    private static TensorRef RebuildTensor(object?[] args)
    {
        StorageRef storage = args[0] as StorageRef
            ?? throw new CheckpointProblem($"a tensor's storage is a {PyTypeName.Of(args[0])}, not a persistent storage reference");
        long offset = args[1] as long? ?? throw new CheckpointProblem($"a tensor's storage offset is a {PyTypeName.Of(args[1])}, not an int");
        return TensorGeometry.Validate(storage, offset, Longs(args[2], "size"), Longs(args[3], "stride"));
    }

    private static long[] Longs(object? value, string what)
    {
        object?[] items = (value as PyTuple)?.Items
            ?? throw new CheckpointProblem($"a tensor's {what} is a {PyTypeName.Of(value)}, not a tuple");
        if (items.Length > TensorGeometry.MaxDims)
            throw new CheckpointProblem($"a tensor's {what} has {items.Length} dimensions; at most {TensorGeometry.MaxDims} are allowed");
        return items.Select(item => item as long? ?? throw new CheckpointProblem($"a tensor's {what} holds a {PyTypeName.Of(item)}, not an int")).ToArray();
    }

    private static PyDict DictFromPairs(object? pairs)
    {
        IEnumerable<object?> items = pairs switch
        {
            PyList list => list.Items,
            PyTuple tuple => tuple.Items,
            _ => throw new CheckpointProblem($"OrderedDict is given a {PyTypeName.Of(pairs)}, not a list of pairs"),
        };
        var dict = new PyDict();
        foreach (object? item in items)
        {
            if (item is not PyTuple { Items.Length: 2 } pair)
                throw new CheckpointProblem($"OrderedDict is given a {PyTypeName.Of(item)} where a (key, value) pair belongs");
            dict.Set(pair.Items[0], pair.Items[1]);
        }
        return dict;
    }

    private static PySet SetFromItems(object? items)
    {
        var set = new PySet();
        set.Items.AddRange(items switch
        {
            PyList list => list.Items,
            PyTuple tuple => tuple.Items,
            _ => throw new CheckpointProblem($"set is given a {PyTypeName.Of(items)}, not a list of items"),
        });
        return set;
    }

    private static byte[] Encode(string text, string encoding)
    {
        switch (encoding.ToLowerInvariant())
        {
            case "latin1" or "latin-1" or "iso-8859-1":
                if (text.Any(c => c > 0xff)) throw new CheckpointProblem("_codecs.encode is given text that latin-1 cannot encode");
                return text.Select(c => (byte)c).ToArray();
            case "utf-8" or "utf8":
                return Encoding.UTF8.GetBytes(text);
            default:
                throw new CheckpointProblem($"_codecs.encode is asked for encoding {Describe.Text(encoding)}; only latin-1 and utf-8 are supported");
        }
    }

    /// <summary>Names a numpy scalar by its dtype code (<c>numpy.float64</c> for 'f8'), as far as the code is a common one.</summary>
    private static string NumpyScalarTypeName(object? dtype)
    {
        string? code = dtype is PyOpaqueObject { TypeName: "numpy.dtype", Arguments: [string c, ..] } ? c : null;
        return code switch
        {
            "f8" => "numpy.float64",
            "f4" => "numpy.float32",
            "f2" => "numpy.float16",
            "i8" => "numpy.int64",
            "i4" => "numpy.int32",
            "b1" => "numpy.bool_",
            _ => "numpy scalar",
        };
    }

    private static void ExpectCount(PyGlobal function, object?[] args, int min, int max)
    {
        if (args.Length < min || args.Length > max)
        {
            string expected = min == max ? $"{min}" : $"{min} to {max}";
            throw new CheckpointProblem($"{Describe.Text(function.FullName)} is given {args.Length} arguments; it takes {expected}");
        }
    }

    private static T Expect<T>(PyGlobal function, object?[] args, int index, string what) where T : class =>
        args[index] as T ?? throw new CheckpointProblem($"the {what} argument of {Describe.Text(function.FullName)} is a {PyTypeName.Of(args[index])}");
}
