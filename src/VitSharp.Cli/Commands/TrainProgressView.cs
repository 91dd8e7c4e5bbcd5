using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using VitSharp.Training;

namespace VitSharp.Cli.Commands;

/// <summary>
/// Shows a training run: a Spectre.Console progress bar (loss, accuracy, images/s, ETA) when stderr is the
/// terminal, else a plain progress line every ten seconds; one summary line per epoch on stdout either way.
/// </summary>
internal static class TrainProgressView
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(10);

    public static void Run(TextWriter error, Trainer trainer, TextWriter output, Action run)
    {
        trainer.OnEpoch = m => output.WriteLine(EpochLine(m));
        bool live = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
        if (!live)
        {
            var since = Stopwatch.StartNew();
            trainer.Log = error.WriteLine;
            trainer.OnStep = p =>
            {
                if (since.Elapsed < PlainInterval) return;
                since.Restart();
                error.WriteLine(StepLine(p));
            };
            run();
            return;
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
        console.Progress().AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("training", maxValue: 1);
                trainer.Log = line => console.WriteLine(line);
                trainer.OnEpoch = m => console.WriteLine(EpochLine(m));
                trainer.OnStep = p =>
                {
                    task.MaxValue = p.TotalSteps;
                    task.Value = p.GlobalStep;
                    task.Description = Markup.Escape(StepLine(p));
                };
                run();
            });
    }

    private static string StepLine(TrainProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"epoch {p.Epoch + 1}/{p.Epochs} step {p.StepInEpoch}/{p.StepsPerEpoch}  loss {p.Loss:F4}  acc {p.Accuracy:P1}  lr {p.Lr:G3}  {p.ImagesPerSecond:F0} img/s  ETA {p.Eta:hh\\:mm\\:ss}");

    private static string EpochLine(EpochMetrics m) => string.Create(CultureInfo.InvariantCulture,
        $"epoch {m.Epoch}: train loss {m.TrainLoss:F4}, train acc {m.TrainAccuracy:P2}, test acc {m.TestAccuracy:P2}{(double.IsNaN(m.EmaTestAccuracy) ? "" : $", EMA test acc {m.EmaTestAccuracy:P2}")}, {m.ImagesPerSecond:F0} img/s, {m.Seconds:F0} s");
}
