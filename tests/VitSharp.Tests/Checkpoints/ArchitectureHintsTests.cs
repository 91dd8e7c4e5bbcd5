using VitSharp.Checkpoints;
using VitSharp.PosEmbed;

namespace VitSharp.Tests.Checkpoints;

/// <summary>What the loader takes from config files beside a checkpoint, and what it refuses to take.</summary>
public sealed class ArchitectureHintsTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("vitsharp-hints-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_timm_hub_config_names_a_registered_architecture_and_its_input_size()
    {
        var hints = ArchitectureHints.FromFile(Write("config.json",
            """{"architecture": "vit_small_patch16_224.augreg_in21k_ft_in1k", "num_classes": 1000, "pretrained_cfg": {"input_size": [3, 384, 384]}, "label_names": ["a", "b"]}"""));
        Assert.Equal(6, hints.NumHeads);
        Assert.Equal(1e-6, hints.LayerNormEps);
        Assert.Equal(GridSize.Square(384), hints.ImgSize);
        Assert.Equal(["a", "b"], hints.Labels);
    }

    [Fact]
    public void A_vitsharp_config_gives_only_the_fields_it_states()
    {
        var hints = ArchitectureHints.FromJson("""{"embed_dim": 384, "posembed_style": "dino"}""");
        Assert.Null(hints.NumHeads);
        Assert.Null(hints.LayerNormEps);
        Assert.Null(hints.ImgSize);
        Assert.Equal("dino", hints.Config!.PosEmbedResampling.Name);
    }

    [Fact]
    public void Json_that_is_not_a_vit_config_is_refused_when_given_and_ignored_beside_a_file()
    {
        string log = Write("config.json", """{"lr": 0.001, "epochs": 300}""");
        var error = Assert.Throws<CheckpointException>(() => ArchitectureHints.FromFile(log));
        Assert.Contains("none of embed_dim", error.Message, StringComparison.Ordinal);
        Assert.Same(ArchitectureHints.None, ArchitectureHints.FindBeside(Path.Combine(folder, "weights.pth")));

        Write("config.json", """{"model_type": "deit", "hidden_size": 384}""");
        Assert.Throws<CheckpointException>(() => ArchitectureHints.FromFile(Path.Combine(folder, "config.json")));
    }

    [Fact]
    public void The_file_named_like_the_checkpoint_wins_over_config_json()
    {
        Write("config.json", """{"model_type": "vit", "num_attention_heads": 3}""");
        Write("weights.json", """{"num_heads": 4}""");
        var hints = ArchitectureHints.FindBeside(Path.Combine(folder, "weights.safetensors"));
        Assert.Equal(4, hints.NumHeads);
        Assert.EndsWith("weights.json", hints.Source, StringComparison.Ordinal);
    }
}
