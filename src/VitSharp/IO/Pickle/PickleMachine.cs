using System.Numerics;
using System.Text;

namespace VitSharp.IO.Pickle;

/// <summary>
/// A restricted pickle interpreter: it executes the opcodes plain data needs (protocols 2 to 5) and hands globals,
/// calls and persistent ids to the allowlist in <see cref="TorchGlobals"/> and to the caller. It never imports or
/// runs anything. Opcodes a state_dict never needs (INST, OBJ, EXT*, NEWOBJ_EX, PERSID, out-of-band buffers,
/// protocol 0 text forms) are refused.
/// </summary>
internal sealed class PickleMachine
{
    /// <summary>
    /// Bounds on stack, memo and nesting. Each costs at least one pickle byte, so the file length bounds them too;
    /// these caps keep a hostile file from turning each byte into tens of bytes of bookkeeping.
    /// </summary>
    public const int MaxStackItems = 4_000_000;
    public const int MaxMemoEntries = 4_000_000;
    public const int MaxNesting = 256;
    private const int MaxGlobalNameLength = 256;
    private const int MaxLongBytes = 16;
    private const int HighestProtocol = 5;

    private readonly PickleInput input;
    private readonly Func<object?, object?> persistentLoad;
    private readonly List<object?> stack = [];
    private readonly Stack<int> marks = new();
    private readonly Dictionary<long, object?> memo = [];

    private PickleMachine(PickleInput input, Func<object?, object?> persistentLoad)
    {
        this.input = input;
        this.persistentLoad = persistentLoad;
    }

    /// <summary>Runs one pickle from the input's position to its STOP opcode and returns the value it built.</summary>
    /// <param name="input">The pickle; afterwards positioned just past STOP.</param>
    /// <param name="persistentLoad">Resolves BINPERSID ids (torch's storage references).</param>
    public static object? Load(PickleInput input, Func<object?, object?> persistentLoad) =>
        new PickleMachine(input, persistentLoad).Run();

    private object? Run()
    {
        while (true)
        {
            long at = input.Position;
            var opcode = (PickleOpcode)input.ReadByte();
            switch (opcode)
            {
                case PickleOpcode.Proto:
                    int protocol = input.ReadByte();
                    if (protocol > HighestProtocol) throw new CheckpointProblem($"the pickle uses protocol {protocol}; at most {HighestProtocol} is supported");
                    break;
                case PickleOpcode.Frame:
                    input.ReadInt64(); // Framing only groups bytes for buffered readers; the contents follow inline.
                    break;
                case PickleOpcode.Stop:
                    if (stack.Count != 1 || marks.Count != 0) throw new CheckpointProblem($"the pickle stops with {stack.Count} values on its stack instead of one");
                    return stack[0];

                case PickleOpcode.Mark:
                    if (marks.Count == MaxNesting) throw new CheckpointProblem($"the pickle nests deeper than {MaxNesting} levels");
                    marks.Push(stack.Count);
                    break;
                case PickleOpcode.Pop:
                    if (stack.Count == CurrentMarkBase()) PopMark(); // CPython pops a mark when the stack above it is empty.
                    else Pop();
                    break;
                case PickleOpcode.PopMark:
                    PopMark();
                    break;
                case PickleOpcode.Dup:
                    Push(Peek());
                    break;

                case PickleOpcode.None: Push(null); break;
                case PickleOpcode.NewTrue: Push(true); break;
                case PickleOpcode.NewFalse: Push(false); break;
                case PickleOpcode.BinInt: Push((long)input.ReadInt32()); break;
                case PickleOpcode.BinInt1: Push((long)input.ReadByte()); break;
                case PickleOpcode.BinInt2: Push((long)input.ReadUInt16()); break;
                case PickleOpcode.Long1: Push(ReadLong(input.ReadByte())); break;
                case PickleOpcode.Long4: Push(ReadLong(input.ReadInt32())); break;
                case PickleOpcode.BinFloat: Push(BitConverter.Int64BitsToDouble(ReadBigEndianInt64())); break;

                case PickleOpcode.ShortBinUnicode: Push(ReadUtf8(input.ReadByte())); break;
                case PickleOpcode.BinUnicode: Push(ReadUtf8(input.ReadUInt32())); break;
                case PickleOpcode.BinUnicode8: Push(ReadUtf8(input.ReadInt64())); break;
                // Python 2 str: torch.load decodes it as UTF-8.
                case PickleOpcode.ShortBinString: Push(ReadUtf8(input.ReadByte())); break;
                case PickleOpcode.BinString: Push(ReadUtf8(input.ReadInt32())); break;
                case PickleOpcode.ShortBinBytes: Push(input.ReadBytes(input.ReadByte(), "a bytes value")); break;
                case PickleOpcode.BinBytes: Push(input.ReadBytes(input.ReadUInt32(), "a bytes value")); break;
                case PickleOpcode.BinBytes8: Push(input.ReadBytes(input.ReadInt64(), "a bytes value")); break;
                case PickleOpcode.ByteArray8: Push(input.ReadBytes(input.ReadInt64(), "a bytearray value")); break;

                case PickleOpcode.EmptyTuple: Push(new PyTuple([])); break;
                case PickleOpcode.Tuple1: Push(new PyTuple([Pop()])); break;
                case PickleOpcode.Tuple2: { object? b = Pop(), a = Pop(); Push(new PyTuple([a, b])); break; }
                case PickleOpcode.Tuple3: { object? c = Pop(), b = Pop(), a = Pop(); Push(new PyTuple([a, b, c])); break; }
                case PickleOpcode.Tuple: Push(new PyTuple(PopToMark().ToArray())); break;
                case PickleOpcode.EmptyList: Push(new PyList()); break;
                case PickleOpcode.EmptyDict: Push(new PyDict()); break;
                case PickleOpcode.EmptySet: Push(new PySet()); break;
                case PickleOpcode.Append: { object? item = Pop(); Expect<PyList>(Peek(), "APPEND").Items.Add(item); break; }
                case PickleOpcode.Appends: { var items = PopToMark(); Expect<PyList>(Peek(), "APPENDS").Items.AddRange(items); break; }
                case PickleOpcode.AddItems: { var items = PopToMark(); Expect<PySet>(Peek(), "ADDITEMS").Items.AddRange(items); break; }
                case PickleOpcode.FrozenSet: { var set = new PySet(); set.Items.AddRange(PopToMark()); Push(set); break; }
                case PickleOpcode.SetItem: { object? value = Pop(), key = Pop(); Expect<PyDict>(Peek(), "SETITEM").Set(key, value); break; }
                case PickleOpcode.SetItems: SetItems(); break;

                case PickleOpcode.BinPut: Put(input.ReadByte()); break;
                case PickleOpcode.LongBinPut: Put(input.ReadUInt32()); break;
                case PickleOpcode.Memoize: Put(memo.Count); break;
                case PickleOpcode.BinGet: Push(Get(input.ReadByte())); break;
                case PickleOpcode.LongBinGet: Push(Get(input.ReadUInt32())); break;

                case PickleOpcode.Global:
                    {
                        string module = input.ReadLine(MaxGlobalNameLength), name = input.ReadLine(MaxGlobalNameLength);
                        Push(TorchGlobals.Resolve(module, name));
                        break;
                    }
                case PickleOpcode.StackGlobal:
                    {
                        object? name = Pop(), module = Pop();
                        if (module is not string m || name is not string n) throw new CheckpointProblem("STACK_GLOBAL names are not strings");
                        Push(TorchGlobals.Resolve(m, n));
                        break;
                    }
                case PickleOpcode.Reduce: { object? args = Pop(), callable = Pop(); Push(TorchGlobals.Call(callable, args)); break; }
                case PickleOpcode.NewObj: { object? args = Pop(), cls = Pop(); Push(TorchGlobals.NewObject(cls, args)); break; }
                case PickleOpcode.Build: { object? state = Pop(); TorchGlobals.Build(Peek(), state); break; }
                case PickleOpcode.BinPersid: Push(persistentLoad(Pop())); break;

                default:
                    throw Enum.IsDefined(opcode)
                        ? CheckpointProblem.Refuse($"the pickle uses opcode {opcode.ToString().ToUpperInvariant()} (0x{(byte)opcode:x2}) at byte {at}, which a state_dict never needs")
                        : new CheckpointProblem($"unknown pickle opcode 0x{(byte)opcode:x2} at byte {at}");
            }
        }
    }

    private void Push(object? value)
    {
        if (stack.Count == MaxStackItems) throw new CheckpointProblem($"the pickle's stack grows past {MaxStackItems} values");
        stack.Add(value);
    }

    private object? Pop()
    {
        if (stack.Count == CurrentMarkBase()) throw new CheckpointProblem($"the pickle pops from an empty stack at byte {input.Position - 1}");
        object? value = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return value;
    }

    private object? Peek()
    {
        if (stack.Count == CurrentMarkBase()) throw new CheckpointProblem($"the pickle reads an empty stack at byte {input.Position - 1}");
        return stack[^1];
    }

    private int CurrentMarkBase() => marks.Count == 0 ? 0 : marks.Peek();

    private void PopMark()
    {
        if (marks.Count == 0) throw new CheckpointProblem("the pickle pops a MARK it never set");
        stack.RemoveRange(marks.Peek(), stack.Count - marks.Peek());
        marks.Pop();
    }

    private List<object?> PopToMark()
    {
        if (marks.Count == 0) throw new CheckpointProblem("the pickle collects items up to a MARK it never set");
        int start = marks.Pop();
        var items = stack.GetRange(start, stack.Count - start);
        stack.RemoveRange(start, stack.Count - start);
        return items;
    }

    private void SetItems()
    {
        var items = PopToMark();
        if (items.Count % 2 != 0) throw new CheckpointProblem("SETITEMS has a key without a value");
        var dict = Expect<PyDict>(Peek(), "SETITEMS");
        for (int i = 0; i < items.Count; i += 2) dict.Set(items[i], items[i + 1]);
    }

    private void Put(long index)
    {
        if (memo.Count == MaxMemoEntries && !memo.ContainsKey(index))
            throw new CheckpointProblem($"the pickle's memo grows past {MaxMemoEntries} entries");
        memo[index] = Peek();
    }

    private object? Get(long index) =>
        memo.TryGetValue(index, out object? value) ? value : throw new CheckpointProblem($"the pickle reads memo entry {index}, which was never stored");

    private static T Expect<T>(object? target, string opcode) where T : class =>
        target as T ?? throw new CheckpointProblem($"{opcode} applies to a {PyTypeName.Of(target)}");

    /// <summary>LONG1/LONG4: a little-endian two's-complement integer; kept as long when it fits (the legacy magic number does not).</summary>
    private object ReadLong(long length)
    {
        if (length is < 0 or > MaxLongBytes) throw new CheckpointProblem($"the pickle holds a {length}-byte integer; at most {MaxLongBytes} bytes are supported");
        var value = new BigInteger(input.ReadBytes(length, "an integer"), isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (object)(long)value : value;
    }

    private long ReadBigEndianInt64()
    {
        byte[] bytes = input.ReadBytes(8, "a float");
        return System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(bytes);
    }

    private string ReadUtf8(long length)
    {
        byte[] bytes = input.ReadBytes(length, "a string");
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new CheckpointProblem("the pickle holds a string that is not valid UTF-8");
        }
    }
}
