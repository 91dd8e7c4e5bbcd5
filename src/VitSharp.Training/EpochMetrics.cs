using System.Globalization;
using System.Text;
using VitSharp.IO;

namespace VitSharp.Training;

/// <summary>One row of <c>metrics.csv</c>: an epoch's training and evaluation results. NaN = not measured (no EMA, no test set).</summary>
public sealed record EpochMetrics(int Epoch, long Step, double Lr, double TrainLoss, double TrainAccuracy, double TestAccuracy,
    double EmaTestAccuracy, double ImagesPerSecond, double Seconds)
{
    public const string CsvHeader = "epoch,step,lr,train_loss,train_acc,test_acc,ema_test_acc,images_per_s,seconds";

    public string ToCsv() => string.Join(',', new[] { Epoch.ToString(CultureInfo.InvariantCulture), Step.ToString(CultureInfo.InvariantCulture) }
        .Concat(new[] { Lr, TrainLoss, TrainAccuracy, TestAccuracy, EmaTestAccuracy, ImagesPerSecond, Seconds }.Select(Format)));

    /// <summary>Parses a row written by <see cref="ToCsv"/> (the history a checkpoint carries).</summary>
    public static EpochMetrics FromCsv(string line)
    {
        var f = line.Split(',');
        if (f.Length != 9) throw new FormatException($"a metrics row has 9 fields, got {f.Length}: '{line}'");
        double D(int i) => f[i].Length == 0 ? double.NaN : double.Parse(f[i], CultureInfo.InvariantCulture);
        return new EpochMetrics(int.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture),
            D(2), D(3), D(4), D(5), D(6), D(7), D(8));
    }

    /// <summary>Round-trip precision; NaN is an empty field so spreadsheets and pandas read it as missing.</summary>
    private static string Format(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Rewrites the whole CSV atomically, so a crash never leaves a half-written row.</summary>
    public static void WriteCsv(string path, IReadOnlyList<EpochMetrics> rows)
    {
        var text = new StringBuilder(CsvHeader).Append('\n');
        foreach (var row in rows) text.Append(row.ToCsv()).Append('\n');
        AtomicFile.Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
