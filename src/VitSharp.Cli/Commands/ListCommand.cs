using System.CommandLine;
using VitSharp.Registry;

namespace VitSharp.Cli.Commands;

/// <summary><c>vitsharp list</c>: the registered architectures and their shapes.</summary>
internal static class ListCommand
{
    public static Command Create(TextWriter output)
    {
        var command = new Command("list", "List the registered ViT architectures.");
        command.SetAction(_ =>
        {
            output.WriteLine($"{"name",-34} {"img",-9} {"patch",5} {"dim",5} {"depth",5} {"heads",5} {"classes",7}  posembed");
            foreach (string name in VitRegistry.Names.Order(StringComparer.Ordinal))
            {
                var c = VitRegistry.Get(name);
                output.WriteLine($"{name,-34} {c.ImgSize,-9} {c.PatchSize,5} {c.EmbedDim,5} {c.Depth,5} {c.NumHeads,5} {c.NumClasses,7}  {c.PosEmbedResampling.Name}");
            }
            return 0;
        });
        return command;
    }
}
