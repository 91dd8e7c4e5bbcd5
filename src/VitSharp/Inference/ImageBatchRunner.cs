using System.Threading.Channels;
using VitSharp.Imaging;
using static TorchSharp.torch;

namespace VitSharp.Inference;

/// <summary>
/// Runs a model over many image files: a background task loads and preprocesses while the caller's thread runs
/// the model, linked by a bounded channel so neither races ahead. Images of the same preprocessed size share a
/// batch; a file that cannot be read becomes a failed <see cref="FileResult{T}"/> and the others go on.
/// </summary>
public static class ImageBatchRunner
{
    /// <summary>
    /// Yields one result per file, in the order of <paramref name="files"/>. <paramref name="runBatch"/> gets a
    /// CPU float32 batch [B, C, H, W] (it owns neither the tensor nor needs to dispose it) and returns B values.
    /// <paramref name="preprocessing"/> is used on the background task only while the enumeration runs.
    /// An exception from <paramref name="runBatch"/> (a model error) ends the enumeration.
    /// </summary>
    public static IEnumerable<FileResult<T>> Run<T>(IReadOnlyList<string> files, ImagePreprocessing preprocessing,
        Func<Tensor, IReadOnlyList<T>> runBatch, BatchOptions? options = null) where T : class
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(preprocessing);
        ArgumentNullException.ThrowIfNull(runBatch);
        options ??= new BatchOptions();
        options.Validate();
        return RunIterator(files, preprocessing, runBatch, options);
    }

    private static IEnumerable<FileResult<T>> RunIterator<T>(IReadOnlyList<string> files, ImagePreprocessing preprocessing,
        Func<Tensor, IReadOnlyList<T>> runBatch, BatchOptions options) where T : class
    {
        var channel = Channel.CreateBounded<Prepared>(new BoundedChannelOptions(options.Prefetch) { SingleReader = true, SingleWriter = true });
        using var stop = new CancellationTokenSource();
        var loader = new BatchLoader(files, preprocessing, options, channel.Writer, stop.Token);
        var producer = Task.Run(loader.Run);

        // Batches of different sizes finish out of order; results wait here until every earlier file is done.
        var waiting = new Dictionary<int, FileResult<T>>();
        int next = 0;
        try
        {
            while (channel.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (channel.Reader.TryRead(out var item))
                {
                    if (item.Images is null)
                    {
                        waiting[item.Indices[0]] = new FileResult<T>(files[item.Indices[0]], null, item.Error);
                    }
                    else
                    {
                        using var images = item.Images;
                        var values = runBatch(images);
                        if (values.Count != item.Indices.Length)
                            throw new InvalidOperationException($"the batch function returned {values.Count} results for {item.Indices.Length} images");
                        for (int i = 0; i < values.Count; i++)
                            waiting[item.Indices[i]] = new FileResult<T>(files[item.Indices[i]], values[i], null);
                    }
                    while (waiting.Remove(next, out var result))
                    {
                        next++;
                        yield return result;
                    }
                }
            }
            // A loader failure that is not about one file (a bug, out of memory) surfaces here.
            producer.GetAwaiter().GetResult();
        }
        finally
        {
            stop.Cancel();
            // When the caller stops early or the model threw, the loader ends on the cancellation; its exception
            // is either that or one already thrown above, so it is not rethrown from cleanup.
            try { producer.Wait(); } catch (AggregateException) { }
            while (channel.Reader.TryRead(out var left)) left.Images?.Dispose();
        }
    }

    /// <summary>A batch for the model, or one file's failure (Images null, Error set, one index).</summary>
    private readonly record struct Prepared(int[] Indices, Tensor? Images, string? Error);

    /// <summary>The background side: decodes, preprocesses and groups files by output size.</summary>
    private sealed class BatchLoader(IReadOnlyList<string> files, ImagePreprocessing preprocessing, BatchOptions options,
        ChannelWriter<Prepared> writer, CancellationToken stop)
    {
        /// <summary>
        /// Most images held back waiting for same-size companions. Without a cap, native-resolution inputs of many
        /// different sizes would all stay in memory until the end; past it the oldest group goes out as it is.
        /// </summary>
        private readonly int maxBuffered = options.BatchSize * 4;
        private readonly Dictionary<(long H, long W), List<(int Index, Tensor Image)>> groups = [];
        private int buffered;

        public void Run()
        {
            try
            {
                for (int i = 0; i < files.Count; i++)
                {
                    stop.ThrowIfCancellationRequested();
                    Tensor image;
                    try
                    {
                        using var bitmap = ImageFile.Load(files[i], options.Limits);
                        image = preprocessing.Prepare(bitmap);
                    }
                    catch (ImageLoadException e)
                    {
                        Send(new Prepared([i], null, e.Problem));
                        continue;
                    }
                    Add(i, image);
                }
                while (groups.Count > 0) Flush(OldestGroup());
            }
            finally
            {
                foreach (var group in groups.Values)
                    foreach (var (_, image) in group) image.Dispose();
                writer.Complete();
            }
        }

        private void Add(int index, Tensor image)
        {
            var key = (image.shape[^2], image.shape[^1]);
            if (!groups.TryGetValue(key, out var group)) groups[key] = group = [];
            group.Add((index, image));
            buffered++;
            if (group.Count == options.BatchSize) Flush(key);
            else if (buffered > maxBuffered) Flush(OldestGroup());
        }

        private (long, long) OldestGroup() => groups.MinBy(g => g.Value[0].Index).Key;

        private void Flush((long, long) key)
        {
            var group = groups[key];
            groups.Remove(key);
            buffered -= group.Count;
            Tensor batch;
            try
            {
                batch = stack(group.Select(g => g.Image).ToArray());
            }
            finally
            {
                foreach (var (_, image) in group) image.Dispose();
            }
            Send(new Prepared([.. group.Select(g => g.Index)], batch, null));
        }

        private void Send(Prepared item)
        {
            try
            {
                writer.WriteAsync(item, stop).AsTask().GetAwaiter().GetResult();
            }
            catch
            {
                item.Images?.Dispose();
                throw;
            }
        }
    }
}
