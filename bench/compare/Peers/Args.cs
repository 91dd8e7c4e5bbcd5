using System.Globalization;

namespace VitSharp.Bench.Peers;

/// <summary><c>--name value</c> pairs; every option is required unless it has a default.</summary>
internal sealed class Args(string[] args)
{
    private readonly Dictionary<string, string> values = Enumerable.Range(0, args.Length / 2).ToDictionary(i => args[2 * i], i => args[2 * i + 1]);

    public string Text(string name, string? fallback = null) =>
        values.TryGetValue(name, out string? v) ? v : fallback ?? throw new ArgumentException($"missing {name}");

    public int Int(string name, int? fallback = null) =>
        values.TryGetValue(name, out string? v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback ?? throw new ArgumentException($"missing {name}");

    public double Double(string name, double fallback) =>
        values.TryGetValue(name, out string? v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public (int Height, int Width) Size()
    {
        var parts = Text("--size").Split('x');
        int h = int.Parse(parts[0], CultureInfo.InvariantCulture);
        return (h, parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : h);
    }
}
