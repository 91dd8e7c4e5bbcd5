using VitSharp.IO;
using VitSharp.IO.Pickle;
using static TorchSharp.torch;

namespace VitSharp.Tests.IO.Pickle;

/// <summary>Checkpoints written by real PyTorch 1.13 (tools/fixtures/generate_pickle_fixtures.py), read back value for value.</summary>
public sealed class PyTorchCheckpointFixtureTests
{
    private static string PathOf(string name) => Fixtures.Path_("pickle", name);

    private static readonly Dictionary<string, (ScalarType DType, long[] Shape)> ModelTensors = new()
    {
        ["f32"] = (ScalarType.Float32, [2, 3]),
        ["f16"] = (ScalarType.Float16, [4]),
        ["bf16"] = (ScalarType.BFloat16, [2, 2]),
        ["i64"] = (ScalarType.Int64, [2, 3]),
        ["mask"] = (ScalarType.Bool, [4]),
        ["transposed"] = (ScalarType.Float32, [5, 3]),
        ["shared_head"] = (ScalarType.Float32, [4]),
        ["shared_tail"] = (ScalarType.Float32, [2, 2]),
        ["scalar"] = (ScalarType.Float32, []),
        ["empty"] = (ScalarType.Float32, [0, 3]),
    };

    [Theory]
    [InlineData("checkpoint.pth", "pytorch-zip")]
    [InlineData("checkpoint_legacy.pth", "pytorch-legacy")]
    [InlineData("state_dict.pth", "pytorch-zip")]
    [InlineData("protocol4.pth", "pytorch-zip")]
    [InlineData("parameters.pth", "pytorch-zip")]
    public void EveryTensorMatchesTheValuesPyTorchRecorded(string file, string format)
    {
        using var checkpoint = PyTorchCheckpoint.Open(PathOf(file));
        using var expected = SafeTensors.Read(PathOf(file.Replace(".pth", ".expected.safetensors")));

        Assert.Equal(format, checkpoint.Format);
        Assert.Equal(PathOf(file), checkpoint.SourceName);
        Assert.Empty(checkpoint.Metadata);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), checkpoint.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (StoredTensor stored in checkpoint.Tensors)
        {
            using Tensor reference = expected.Get(stored.Name);
            using Tensor actual = stored.Read();
            Assert.Equal(stored.Shape, actual.shape);
            Assert.Equal(stored.DType, actual.dtype);
            Assert.True(actual.is_contiguous(), stored.Name);
            // The fixture writer stores 0-d tensors as shape [1] (numpy.ascontiguousarray), so compare shapes by element count there.
            if (actual.dim() == 0) Assert.Equal([1L], reference.shape);
            else Assert.Equal(reference.shape, actual.shape);
            using Tensor comparable = actual.to(reference.dtype).reshape(reference.shape);
            Assert.True(comparable.eq(reference).all().item<bool>(), $"{file}: {stored.Name} differs from PyTorch's values");
        }
    }

    [Theory]
    [InlineData("checkpoint.pth")]
    [InlineData("checkpoint_legacy.pth")]
    public void TrainingCheckpointIsFlattenedWithDTypesShapesAndNonTensorEntries(string file)
    {
        using var checkpoint = PyTorchCheckpoint.Open(PathOf(file));

        var names = checkpoint.Tensors.Select(t => t.Name).ToArray();
        Assert.Equal([.. ModelTensors.Keys.Select(k => $"model.{k}"), "optimizer.state.0.exp_avg"], names);
        foreach (var (key, (dtype, shape)) in ModelTensors)
        {
            StoredTensor stored = checkpoint.Tensors.Single(t => t.Name == $"model.{key}");
            Assert.Equal(dtype, stored.DType);
            Assert.Equal(shape, stored.Shape);
        }
        Assert.Equal(
            [
                "epoch: int",
                "args: argparse.Namespace",
                "metric: numpy.float64",
                "optimizer.state.0.step: int",
                "optimizer.param_groups: list (1 items)",
            ],
            checkpoint.NonTensorEntries);
    }

    [Fact]
    public void StateDictOrderedDictWithMetadataKeepsModuleOrder()
    {
        using var checkpoint = PyTorchCheckpoint.Open(PathOf("state_dict.pth"));

        Assert.Equal(
            ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias", "2.running_mean", "2.running_var", "2.num_batches_tracked"],
            checkpoint.Tensors.Select(t => t.Name));
        Assert.Equal(ScalarType.Int64, checkpoint.Tensors[^1].DType);
        Assert.Equal(Array.Empty<long>(), checkpoint.Tensors[^1].Shape);
        Assert.Empty(checkpoint.NonTensorEntries); // _metadata is an attribute, not an entry
    }

    [Fact]
    public void ParametersAreReadAsTheirData()
    {
        using var checkpoint = PyTorchCheckpoint.Open(PathOf("parameters.pth"));
        Assert.Equal(["pos_embed", "blocks.0"], checkpoint.Tensors.Select(t => t.Name));
        Assert.Equal([1L, 3, 2], checkpoint.Tensors[0].Shape);
    }

    [Fact]
    public void TensorsAreReadLazilyAndCanBeReadAgain()
    {
        using var checkpoint = PyTorchCheckpoint.Open(PathOf("checkpoint.pth"));
        StoredTensor shared = checkpoint.Tensors.Single(t => t.Name == "model.shared_tail");

        using Tensor first = shared.Read();
        using Tensor second = shared.Read();
        first.add_(1); // results are independent copies, not views of one buffer

        Assert.Equal([3.0f, 3.5f, 4.0f, 4.5f], second.data<float>().ToArray());
        Assert.Equal([4.0f, 4.5f, 5.0f, 5.5f], first.data<float>().ToArray());
    }

    [Fact]
    public void OpensFromAStreamAndLeavesItOpenWhenAsked()
    {
        using var stream = new MemoryStream(File.ReadAllBytes(PathOf("checkpoint_legacy.pth")));
        using (var checkpoint = PyTorchCheckpoint.Open(stream, "in-memory.pth", leaveOpen: true))
        {
            Assert.Equal("in-memory.pth", checkpoint.SourceName);
            using Tensor mask = checkpoint.Tensors.Single(t => t.Name == "model.mask").Read();
            Assert.Equal([true, false, true, true], mask.data<bool>().ToArray());
        }
        Assert.True(stream.CanRead);
    }

    [Fact]
    public void ReadingAfterDisposeIsAnObjectDisposedError()
    {
        var checkpoint = PyTorchCheckpoint.Open(PathOf("checkpoint.pth"));
        StoredTensor tensor = checkpoint.Tensors[0];
        checkpoint.Dispose();

        Assert.ThrowsAny<ObjectDisposedException>(() => tensor.Read());
    }
}
