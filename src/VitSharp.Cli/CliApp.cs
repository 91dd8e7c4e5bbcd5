using System.CommandLine;
using VitSharp.Cli.Commands;
using VitSharp.Kernels;
using VitSharp.Native;

namespace VitSharp.Cli;

/// <summary>The <c>vitsharp</c> command line: builds the command tree and turns every failure into one line on stderr.</summary>
public static class CliApp
{
    /// <summary>Exit code of a command that failed on its input (bad file, shape, option value).</summary>
    public const int Failure = 1;

    /// <summary>Exit code of a command line that does not parse.</summary>
    public const int UsageError = 2;

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("VitSharp: the Vision Transformer for .NET, at any resolution.")
        {
            PosEmbedShowCommand.AddTo(PosEmbedCommand.Create(output), output),
            ForwardCommand.Create(output),
            InspectCommand.Create(output),
            ConvertCommand.Create(output),
            DemoCommand.Create(output),
            AttentionCommand.Create(output),
            ResolutionSweepCommand.Create(output),
            ListCommand.Create(output),
            ClassifyCommand.Create(output),
            EmbedCommand.Create(output),
            PreprocessCommand.Create(output),
            TrainCommand.Create(output),
            EvalCommand.Create(output),
            BenchCommand.Create(output),
            DoctorCommand.Create(output, error),
        };
        root.Options.Add(Verbose);

        // No response-file expansion: classify and embed read @LIST themselves, one whole path per line (spaces kept).
        var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"vitsharp: {OneLine(parsed.Errors[0].Message)} (see 'vitsharp --help')");
            return UsageError;
        }
        EventHandler<KernelCheckResult>? reportDisagreement = null;
        if (parsed.GetValue(Verbose))
        {
            // A fast kernel that disagrees with libtorch on a shape is not used there; the user who asks hears of it once.
            reportDisagreement = (_, check) => error.WriteLine($"vitsharp: warning: {check}; libtorch's path computes this shape instead");
            KernelChecks.Disagreed += reportDisagreement;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            error.WriteLine($"vitsharp: error: {Describe(e)}");
            return Failure;
        }
        finally
        {
            if (reportDisagreement is not null) KernelChecks.Disagreed -= reportDisagreement;
        }
    }

    /// <summary><c>--verbose</c>, on every command: warnings about the machine, such as a fast kernel refused on a shape.</summary>
    private static readonly Option<bool> Verbose = new("--verbose") { Description = "report on stderr each shape where a fast kernel disagreed with libtorch (and libtorch's path ran instead)", Recursive = true };

    /// <summary>A failure as one line: the message of the exception that says what is wrong.</summary>
    private static string Describe(Exception e)
    {
        while (e is AggregateException or System.Reflection.TargetInvocationException or TypeInitializationException && e.InnerException is not null)
            e = e.InnerException!;
        // .NET reports a write to a closed standard output (>&-) as "Access to the path is denied."
        if (e is UnauthorizedAccessException or IOException && e.StackTrace?.Contains("System.ConsolePal", StringComparison.Ordinal) == true)
            return "cannot write to standard output (is it closed?)";
        return OneLine(e.Message);
    }

    internal static string OneLine(string text) => string.Join(' ', text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>Loads TorchSharp's native library (see <see cref="TorchRuntime"/>) before a command touches a tensor.</summary>
    internal static void RequireTorch() => TorchRuntime.EnsureLoaded();
}
