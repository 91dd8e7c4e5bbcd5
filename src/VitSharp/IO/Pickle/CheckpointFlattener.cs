using System.Globalization;
using System.Numerics;

namespace VitSharp.IO.Pickle;

/// <summary>
/// Turns the unpickled object into flat names: nested dicts, lists and tuples are joined with '.'
/// (<c>{"model": {"cls_token": t}}</c> becomes <c>model.cls_token</c>, list items are numbered). Tensors are
/// collected in pickle order; every other leaf becomes one "name: type" line, and a container with no tensor
/// inside is summarized in one line instead of listing its items (optimizer param_groups, args lists), except
/// the root, whose entries are always listed.
/// </summary>
internal sealed class CheckpointFlattener
{
    /// <summary>At most this many non-tensor lines are kept; the rest are counted in a final line.</summary>
    public const int MaxNonTensorEntries = 1000;
    public const int MaxDepth = PickleMachine.MaxNesting;

    private readonly List<(string Name, TensorRef Tensor)> tensors = [];
    private readonly HashSet<string> tensorNames = new(StringComparer.Ordinal);
    private readonly List<string> nonTensors = [];
    private readonly long maxVisits;
    private long visits;
    private int droppedNonTensors;

    private CheckpointFlattener(long maxVisits) => this.maxVisits = maxVisits;

    /// <param name="root">The unpickled object.</param>
    /// <param name="maxVisits">
    /// A bound on values visited. The memo lets a small pickle reference one container many times (a tree of
    /// shared lists grows exponentially), so the walk is bounded by a multiple of the pickle's size: every value a real
    /// file holds costs at least one opcode byte, and real files share almost nothing but strings.
    /// </param>
    public static (IReadOnlyList<(string Name, TensorRef Tensor)> Tensors, IReadOnlyList<string> NonTensors) Flatten(object? root, long maxVisits)
    {
        var flattener = new CheckpointFlattener(maxVisits);
        flattener.Visit(root, "", depth: 0);
        if (flattener.droppedNonTensors > 0)
            flattener.nonTensors.Add($"... and {flattener.droppedNonTensors} more non-tensor entries");
        return (flattener.tensors, flattener.nonTensors);
    }

    private void Visit(object? value, string name, int depth)
    {
        if (++visits > maxVisits)
            throw new CheckpointProblem($"the checkpoint's objects reference each other more than {maxVisits} times (a shared or cyclic structure)");
        if (depth > MaxDepth)
            throw new CheckpointProblem($"the checkpoint nests containers deeper than {MaxDepth} levels (or a container holds itself)");

        switch (value)
        {
            case TensorRef tensor:
                if (!tensorNames.Add(name))
                    throw new CheckpointProblem($"two tensors have the same flattened name {Describe.Text(name)}");
                tensors.Add((name, tensor));
                return;
            case PyDict dict:
                VisitContainer(value, name, depth, dict.Entries.Select(e => (KeyName(e.Key, name), e.Value)), dict.Count);
                return;
            case PyList list:
                VisitContainer(value, name, depth, list.Items.Select((item, i) => (i.ToString(CultureInfo.InvariantCulture), item)), list.Items.Count);
                return;
            case PyTuple tuple:
                VisitContainer(value, name, depth, tuple.Items.Select((item, i) => (i.ToString(CultureInfo.InvariantCulture), item)), tuple.Items.Length);
                return;
            default:
                AddNonTensor(name, PyTypeName.Of(value));
                return;
        }
    }

    private void VisitContainer(object container, string name, int depth, IEnumerable<(string Key, object? Value)> children, int count)
    {
        int tensorsBefore = tensors.Count, linesBefore = nonTensors.Count, droppedBefore = droppedNonTensors;
        foreach (var (key, child) in children)
            Visit(child, name.Length == 0 ? key : $"{name}.{key}", depth + 1);
        if (tensors.Count > tensorsBefore || name.Length == 0) return;

        // No tensor inside: one line for the whole container rather than one per item (the root keeps its items).
        nonTensors.RemoveRange(linesBefore, nonTensors.Count - linesBefore);
        droppedNonTensors = droppedBefore;
        AddNonTensor(name, $"{PyTypeName.Of(container)} ({count} items)");
    }

    private void AddNonTensor(string name, string type)
    {
        if (nonTensors.Count < MaxNonTensorEntries) nonTensors.Add($"{(name.Length == 0 ? "(root)" : name)}: {type}");
        else droppedNonTensors++;
    }

    private static string KeyName(object? key, string parent) => key switch
    {
        string text => text,
        long or BigInteger or bool => Convert.ToString(key, CultureInfo.InvariantCulture)!,
        _ => throw new CheckpointProblem($"a dict under {Describe.Text(parent.Length == 0 ? "(root)" : parent)} has a {PyTypeName.Of(key)} key; only str and int keys can be named"),
    };
}
