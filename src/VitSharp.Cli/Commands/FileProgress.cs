using Spectre.Console;

namespace VitSharp.Cli.Commands;

/// <summary>
/// A progress bar on stderr for runs over many files, and the channel for per-file problem lines while it is
/// shown: those go through the bar's console so they print above it instead of tearing it.
/// </summary>
internal sealed class FileProgress
{
    private readonly TextWriter error;
    private readonly IAnsiConsole? console;
    private readonly ProgressTask? task;

    private FileProgress(TextWriter error, IAnsiConsole? console, ProgressTask? task)
    {
        this.error = error;
        this.console = console;
        this.task = task;
    }

    /// <summary>
    /// Runs <paramref name="body"/> with a bar when stderr is the process's own terminal, there is more than one
    /// file and <paramref name="resultsOffScreen"/> (results go to a file or a pipe, not to the terminal the bar
    /// redraws on); otherwise without one.
    /// </summary>
    public static void Run(TextWriter error, int files, string title, bool resultsOffScreen, Action<FileProgress> body)
    {
        bool show = resultsOffScreen && files > 1 && ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
        if (!show)
        {
            body(new FileProgress(error, null, null));
            return;
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
        console.Progress().AutoClear(true).Start(context => body(new FileProgress(error, console, context.AddTask(title, maxValue: files))));
    }

    /// <summary>True when stdout is not the terminal (redirected, or not the console at all).</summary>
    public static bool IsOffScreen(TextWriter output) => !ReferenceEquals(output, Console.Out) || Console.IsOutputRedirected;

    public void Advance() => task?.Increment(1);

    /// <summary>Writes one problem line to stderr.</summary>
    public void Problem(string line)
    {
        if (console is null) error.WriteLine(line);
        else console.WriteLine(line);
    }
}
