using VitSharp.PosEmbed;

namespace VitSharp.Tests.PosEmbed;

/// <summary>2-D sin-cos tables against MAE's get_2d_sincos_pos_embed (tools/fixtures).</summary>
public class SinCosPosEmbedTests
{
    public static TheoryData<string> CaseIds() =>
        [.. Fixtures.Json("posembed", "sincos.json").AsArray().Select(c => c!["id"]!.GetValue<string>())];

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void Matches_mae(string id)
    {
        var c = Fixtures.Json("posembed", "sincos.json").AsArray().Single(x => x!["id"]!.GetValue<string>() == id)!;
        var grid = new GridSize(c["grid"]![0]!.GetValue<int>(), c["grid"]![1]!.GetValue<int>());
        using var file = Fixtures.Tensors("posembed", "sincos.safetensors");
        using var expected = file.Get(id);
        using var actual = SinCosPosEmbed.Build(c["embed_dim"]!.GetValue<int>(), grid, c["cls_token"]!.GetValue<bool>() ? 1 : 0);
        Fixtures.AssertClose(actual.squeeze(0), expected, id);
    }
}
