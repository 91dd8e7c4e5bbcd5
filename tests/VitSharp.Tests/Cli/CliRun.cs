using VitSharp.Cli;

namespace VitSharp.Tests.Cli;

/// <summary>Runs a <c>vitsharp</c> command line in-process, through the executable's own entry point.</summary>
internal static class CliRun
{
    /// <summary>The exit code and everything written to stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        // --threads sets libtorch's process-wide thread count; the tests after this one run with the count they had.
        int threads = TorchSharp.torch.get_num_threads();
        try
        {
            int code = CliApp.Run(args, output, error);
            return (code, output.ToString(), error.ToString());
        }
        finally
        {
            TorchSharp.torch.set_num_threads(threads);
        }
    }
}
