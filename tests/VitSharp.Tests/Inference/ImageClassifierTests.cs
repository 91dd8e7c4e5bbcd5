using VitSharp.Checkpoints;
using VitSharp.Imaging;
using VitSharp.Inference;
using static TorchSharp.torch;

namespace VitSharp.Tests.Inference;

/// <summary>The facade against the model run by hand, on the Hugging Face fixture (10 labelled classes, 32x32, patch 8).</summary>
public sealed class ImageClassifierTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-classify-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private static string Checkpoint => Fixtures.Path_("checkpoints", "hf_cls_st");

    [Fact]
    public void Classify_is_the_softmax_of_the_models_logits_on_the_preprocessed_tensor()
    {
        string image = TestImages.Png(work, "x.png", 45, 37, seed: 7);
        using var classifier = new ImageClassifier(Checkpoint);
        var predictions = classifier.Classify(image, topK: 10);

        using var loaded = CheckpointLoader.Load(Checkpoint);
        using var bitmap = ImageFile.Load(image);
        using var input = ImagePreprocessing.ForModel("timm", loaded.Model.Config).Prepare(bitmap).unsqueeze(0);
        using var logits = loaded.Model.call(input);
        using var expected = softmax(logits, 1)[0];
        float[] probabilities = expected.data<float>().ToArray();

        Assert.Equal(10, predictions.Count);
        Assert.Equal("checkpoint", classifier.Labels.Source);
        for (int i = 0; i < predictions.Count; i++)
        {
            var p = predictions[i];
            Assert.Equal(loaded.Summary.Labels![p.Index], p.Label);
            Assert.Equal(probabilities[p.Index], p.Probability, 1e-6f);
            if (i > 0) Assert.True(predictions[i - 1].Probability >= p.Probability);
        }
        Assert.Equal(1.0, predictions.Sum(p => p.Probability), 1e-5);
    }

    [Fact]
    public void A_classifier_packs_the_model_it_loads_but_not_one_it_is_given()
    {
        // A model whose every linear layer suits the packed layout (192 wide, a head of 1000), saved as a checkpoint.
        string checkpoint = Path.Combine(work, "packable.safetensors");
        using (var model = VitSharp.Tests.Models.PackedLinearWeightsTests.PackableModel())
            CheckpointExporter.Save(model, checkpoint);
        using var classifier = new ImageClassifier(checkpoint);
        int layers = 4 * classifier.Model.Config.Depth + 1; // qkv, proj, fc1, fc2 per block, and the head
        Assert.Equal(VitSharp.Kernels.OneDnnPackedLinear.IsAvailable ? layers : 0, classifier.Model.PackedLinearLayers);

        using var loaded = CheckpointLoader.Load(checkpoint);
        using var given = new ImageClassifier(loaded.Model, loaded.Summary.Labels);
        Assert.Equal(0, given.Model.PackedLinearLayers);
        classifier.Model.UnpackLinearWeights();
        Assert.Equal(0, classifier.Model.PackedLinearLayers);
    }

    [Fact]
    public void Real_photos_in_one_batch_match_the_model_run_on_each_preprocessed_tensor()
    {
        string[] photos = [.. new[] { "chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg" }.Select(n => Fixtures.Path_("images", n))];
        using var classifier = new ImageClassifier(Checkpoint);
        var results = classifier.ClassifyMany(photos, topK: 10, new BatchOptions { BatchSize = 4 }).ToList();

        using var loaded = CheckpointLoader.Load(Checkpoint);
        for (int i = 0; i < photos.Length; i++)
        {
            using var bitmap = ImageFile.Load(photos[i]);
            using var input = classifier.Preprocessing.Prepare(bitmap).unsqueeze(0);
            using var logits = loaded.Model.call(input);
            using var expected = softmax(logits, 1)[0];
            float[] probabilities = expected.data<float>().ToArray();
            Assert.True(results[i].Succeeded, results[i].Error);
            Assert.All(results[i].Value!, p => Assert.True(Math.Abs(probabilities[p.Index] - p.Probability) <= 1e-5, $"{photos[i]} class {p.Index}"));
        }
    }

    [Fact]
    public void Stream_bitmap_and_path_give_the_same_answer()
    {
        string image = TestImages.Jpeg(work, "y.jpg", 33, 50, seed: 3);
        using var classifier = new ImageClassifier(Checkpoint);
        var fromPath = classifier.Classify(image, topK: 3);
        using (var stream = File.OpenRead(image))
            Assert.Equal(fromPath, classifier.Classify(stream, topK: 3));
        using var bitmap = ImageFile.Load(image);
        Assert.Equal(fromPath, classifier.Classify(bitmap, topK: 3));
    }

    [Theory]
    [InlineData("timm", 3)]
    [InlineData("native", 2)]
    public void Batched_results_equal_one_at_a_time_results(string preset, int batchSize)
    {
        // Native keeps each aspect ratio, so these sizes give several input shapes that must not share a batch.
        (int W, int H)[] sizes = [(32, 32), (64, 32), (40, 40), (32, 64), (64, 32), (30, 31), (96, 32)];
        var files = sizes.Select((s, i) => TestImages.Png(work, $"img{i}.png", s.W, s.H, seed: i)).ToList();
        using var classifier = new ImageClassifier(Checkpoint, options: new InferenceOptions { Preset = preset });

        var many = classifier.ClassifyMany(files, topK: 10, new BatchOptions { BatchSize = batchSize }).ToList();

        Assert.Equal(files, many.Select(r => r.Path));
        for (int i = 0; i < files.Count; i++)
        {
            Assert.True(many[i].Succeeded, many[i].Error);
            var single = classifier.Classify(files[i], topK: 10).OrderBy(p => p.Index).ToList();
            var batched = many[i].Value!.OrderBy(p => p.Index).ToList();
            for (int c = 0; c < 10; c++)
                Assert.True(Math.Abs(single[c].Probability - batched[c].Probability) <= 1e-5, $"{preset} image {i} class {c}");
        }
    }

    [Fact]
    public void ClassifyMany_reports_bad_files_in_place_and_goes_on()
    {
        var (good, bad) = TestImages.MixedFolder(work);
        var files = ImageInputs.Expand([work]);
        using var classifier = new ImageClassifier(Checkpoint);

        var results = classifier.ClassifyMany(files, topK: 2, new BatchOptions { BatchSize = 2 }).ToList();

        Assert.Equal(files, results.Select(r => r.Path));
        Assert.Equal(good.Order(StringComparer.Ordinal), results.Where(r => r.Succeeded).Select(r => r.Path));
        Assert.Equal(bad.Order(StringComparer.Ordinal), results.Where(r => !r.Succeeded).Select(r => r.Path));
        Assert.All(results.Where(r => !r.Succeeded), r => Assert.DoesNotContain('\n', r.Error!));
        Assert.Contains("empty", results.Single(r => r.Path.EndsWith("empty.png")).Error);
    }

    [Fact]
    public void Stopping_early_leaves_no_loader_running()
    {
        var files = Enumerable.Range(0, 12).Select(i => TestImages.Png(work, $"s{i}.png", 32, 32, seed: i)).ToList();
        using var classifier = new ImageClassifier(Checkpoint);
        var first = classifier.ClassifyMany(files, topK: 1, new BatchOptions { BatchSize = 1, Prefetch = 1 }).Take(2).ToList();
        Assert.Equal(files.Take(2), first.Select(r => r.Path));
    }

    [Fact]
    public void A_model_given_directly_uses_the_given_labels_and_ImageNet_for_1000_classes()
    {
        using var loaded = CheckpointLoader.Load(Checkpoint);
        string[] names = [.. Enumerable.Range(0, 10).Select(i => $"n{i}")];
        using (var classifier = new ImageClassifier(loaded.Model, names))
            Assert.Equal(("given", "n3"), (classifier.Labels.Source, classifier.Labels[3]));

        using var wide = new VitSharp.Models.VisionTransformer(loaded.Model.Config with { NumClasses = 1000 });
        using var imageNet = new ImageClassifier(wide);
        Assert.Equal(("imagenet-1k", "tench"), (imageNet.Labels.Source, imageNet.Labels[0]));
        using var bitmap = TestImages.Bitmap(32, 32, seed: 1);
        Assert.Equal(5, imageNet.Classify(bitmap).Count);
    }

    [Fact]
    public void Features_are_the_models_pre_logits_and_batch_like_single_images()
    {
        var files = Enumerable.Range(0, 5).Select(i => TestImages.Png(work, $"f{i}.png", 36 + i, 32, seed: i)).ToList();
        using var extractor = new FeatureExtractor(Checkpoint, new InferenceOptions { Device = CPU });
        var many = extractor.EmbedMany(files, new BatchOptions { BatchSize = 2 }).ToList();

        using var loaded = CheckpointLoader.Load(Checkpoint);
        using var bitmap = ImageFile.Load(files[0]);
        using var input = extractor.Preprocessing.Prepare(bitmap).unsqueeze(0);
        using var features = loaded.Model.ForwardHead(loaded.Model.ForwardFeatures(input), preLogits: true);
        float[] expected = features[0].data<float>().ToArray();

        Assert.Equal(extractor.Dimension, expected.Length);
        Assert.Equal(expected.Length, many[0].Value!.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], many[0].Value![i], 1e-5f);
        for (int f = 0; f < files.Count; f++)
        {
            float[] single = extractor.Embed(files[f]);
            Assert.True(single.Zip(many[f].Value!).All(p => Math.Abs(p.First - p.Second) <= 1e-5), $"file {f}");
        }
    }

    [Fact]
    public void Inputs_expand_folders_recursively_and_list_files_in_a_stable_order()
    {
        var (good, bad) = TestImages.MixedFolder(work);
        File.WriteAllText(Path.Combine(work, "readme.txt"), "skipped: not an image extension");
        string extra = TestImages.Png(Path.GetTempPath(), $"vitsharp-extra-{Guid.NewGuid():N}.png", 8, 8, 1);
        try
        {
            string list = Path.Combine(work, "list.txt");
            File.WriteAllText(list, $"{extra}\n\n  {good[0]}  \n");

            var files = ImageInputs.Expand([$"@{list}", work, good[1]]);

            string[] folder = [.. good.Concat(bad).Order(StringComparer.Ordinal)];
            // The list first (its second entry reappears in the folder, kept once at its first place), then the folder.
            Assert.Equal([extra, good[0], .. folder.Where(f => f != good[0])], files);
            Assert.Throws<FileNotFoundException>(() => ImageInputs.Expand([$"@{Path.Combine(work, "missing.txt")}"]));
        }
        finally
        {
            File.Delete(extra);
        }
    }
}
