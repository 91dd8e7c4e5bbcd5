using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using VitSharp.Native;
using static TorchSharp.torch;

namespace VitSharp.Training.Data;

/// <summary>
/// Batches of a dataset, augmented on background threads. Deterministic: the order comes from (seed, epoch), each
/// image's crop, flip and erasing from (seed, epoch, dataset index), each batch's Mixup or CutMix from (seed, epoch,
/// batch index), all through a counter-based generator. So the same (seed, epoch) gives the same batches whatever the
/// worker count, the timing, or where the epoch was resumed (<c>skipBatches</c>).
/// </summary>
public sealed class DataLoader
{
    private readonly IImageDataset _dataset;
    private readonly int _batchSize;
    private readonly bool _shuffle;
    private readonly int _seed;
    private readonly AugmentOptions _augment;
    private readonly int _workers;
    private readonly int _prefetch;
    private readonly SampleAugmenter _augmenter;

    /// <summary>
    /// A loader of <paramref name="batchSize"/> images per batch (the last one smaller unless <paramref name="dropLast"/>),
    /// shuffled per epoch when <paramref name="shuffle"/>. <paramref name="workers"/> threads load and augment (0 = on the
    /// calling thread), each holding at most <paramref name="prefetch"/> finished batches ahead of the consumer.
    /// </summary>
    public DataLoader(IImageDataset dataset, int batchSize, bool shuffle, int seed, AugmentOptions augment, bool dropLast = false, int workers = 2, int prefetch = 2)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(augment);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefetch, 1);
        // Any IImageDataset may be passed here, so the native library may not be loaded yet.
        TorchRuntime.EnsureLoaded();
        if (augment.Mixup < 0 || augment.Cutmix < 0 || augment.LabelSmoothing is < 0 or >= 1)
            throw new ArgumentException("Mixup and Cutmix alphas must be >= 0 and LabelSmoothing in [0, 1)", nameof(augment));
        if (augment.MultiResolutionProb is < 0 or > 1 || augment.MultiResolutionProb > 0 && augment.MultiResolutions.Count == 0)
            throw new ArgumentException($"MultiResolutionProb must be in [0, 1] and needs MultiResolutions, got {augment.MultiResolutionProb} with {augment.MultiResolutions.Count} sizes", nameof(augment));
        ArgumentOutOfRangeException.ThrowIfNegative(augment.MultiResolutionFromEpoch, nameof(augment));
        foreach (var (height, width) in augment.MultiResolutions)
            if (height < 1 || width < 1) throw new ArgumentException($"multi-resolution size {height}x{width} must be positive", nameof(augment));
        _dataset = dataset;
        _batchSize = batchSize;
        _shuffle = shuffle;
        _seed = seed;
        _augment = augment;
        _workers = workers;
        _prefetch = prefetch;
        _augmenter = new SampleAugmenter(augment, seed, dataset.Channels, dataset.ImageSize);
        BatchesPerEpoch = dropLast ? dataset.Count / batchSize : (dataset.Count + batchSize - 1) / batchSize;
    }

    public int BatchesPerEpoch { get; }

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/> from batch <paramref name="skipBatches"/> on: exactly the tail of the
    /// full epoch. Each batch is the caller's to dispose. Leaving the loop early stops the workers and frees their batches.
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch, int skipBatches = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(skipBatches);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(skipBatches, BatchesPerEpoch);
        var order = EpochOrder.For(_dataset.Count, _shuffle, _seed, epoch);
        return _workers == 0 ? OnThisThread(order, epoch, skipBatches) : OnWorkers(order, epoch, skipBatches);
    }

    private IEnumerable<Batch> OnThisThread(int[] order, int epoch, int first)
    {
        for (int b = first; b < BatchesPerEpoch; b++) yield return Make(order, epoch, b);
    }

    /// <summary>
    /// Worker w makes batches first + w, first + w + W, … into its own bounded channel, and the consumer reads the
    /// channels in turn, so batches arrive in order without any shared state between workers.
    /// </summary>
    private IEnumerable<Batch> OnWorkers(int[] order, int epoch, int first)
    {
        int count = Math.Min(_workers, BatchesPerEpoch - first);
        if (count == 0) yield break;
        using var stop = new CancellationTokenSource();
        var channels = new Channel<Batch>[count];
        var tasks = new Task[count];
        for (int w = 0; w < count; w++)
        {
            var channel = channels[w] = Channel.CreateBounded<Batch>(new BoundedChannelOptions(_prefetch) { SingleReader = true, SingleWriter = true });
            int start = first + w;
            tasks[w] = Task.Factory.StartNew(() => Work(channel.Writer, order, epoch, start, count, stop.Token),
                stop.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        try
        {
            for (int b = first; b < BatchesPerEpoch; b++)
                yield return Read(channels[(b - first) % count].Reader);
        }
        finally
        {
            stop.Cancel();
            // Workers end on cancellation or have already finished; their outcome was delivered through the channels.
            Task.WaitAll(tasks.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)).ToArray());
            foreach (var channel in channels)
                while (channel.Reader.TryRead(out var left)) left.Dispose();
        }
    }

    private void Work(ChannelWriter<Batch> writer, int[] order, int epoch, int start, int step, CancellationToken stop)
    {
        try
        {
            for (int b = start; b < BatchesPerEpoch && !stop.IsCancellationRequested; b += step)
            {
                var batch = Make(order, epoch, b);
                try
                {
                    writer.WriteAsync(batch, stop).AsTask().GetAwaiter().GetResult();
                }
                catch
                {
                    batch.Dispose();
                    throw;
                }
            }
            writer.TryComplete();
        }
        catch (Exception e)
        {
            writer.TryComplete(e);
        }
    }

    private static Batch Read(ChannelReader<Batch> reader)
    {
        try
        {
            return reader.ReadAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            // A worker failed: rethrow its exception, not the channel's wrapper.
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    /// <summary>Batch <paramref name="b"/> of the epoch; its tensors are detached from every dispose scope and owned by the <see cref="Batch"/>.</summary>
    private Batch Make(int[] order, int epoch, int b)
    {
        int start = b * _batchSize, size = Math.Min(_batchSize, order.Length - start);
        var labels = new int[size];
        using var scope = NewDisposeScope();
        var images = new Tensor[size];
        for (int i = 0; i < size; i++)
        {
            int index = order[start + i];
            var (image, label) = _dataset.Get(index);
            labels[i] = label;
            images[i] = _augmenter.Apply(image, epoch, index);
        }
        var x = stack(images);
        var rng = CounterRng.For(_seed, epoch, CounterRng.Purpose.Batch, b);
        var mix = BatchMix.Sample(ref rng, _augment, _augmenter.Output.Height, _augmenter.Output.Width);
        if (mix.CutBox is { } box)
        {
            var flipped = x.flip(0);
            x.narrow(2, box.Top, box.Height).narrow(3, box.Left, box.Width)
                .copy_(flipped.narrow(2, box.Top, box.Height).narrow(3, box.Left, box.Width));
        }
        else if (mix.Lam != 1.0)
        {
            x = x.Times(mix.Lam).Plus(x.flip(0).Times(1 - mix.Lam));
        }
        x = ResizeForResolution(x, epoch, b);
        int classes = _dataset.Labels.Count;
        var targets = tensor(mix.Targets(labels, classes, _augment.LabelSmoothing), [size, classes]);
        var labelTensor = tensor(Array.ConvertAll(labels, l => (long)l), [size]);
        if (x.shape[0] < size)
        {
            targets = targets.narrow(0, 0, x.shape[0]);
            labelTensor = labelTensor.narrow(0, 0, x.shape[0]);
        }
        return new Batch(x.DetachFromDisposeScope(), targets.DetachFromDisposeScope(), labelTensor.DetachFromDisposeScope());
    }

    /// <summary>
    /// Multi-resolution training: batch <paramref name="b"/> resized to one of the sizes, or left alone, drawn from its own
    /// (seed, epoch, batch) stream so switching it on changes no other random choice. The images are normalised already;
    /// bilinear weights sum to one, so this equals resizing before normalising, as the evaluation at that size does.
    /// With <see cref="AugmentOptions.MultiResolutionSamePixels"/> a resized batch keeps only its first images (the caller
    /// cuts targets and labels to match).
    /// </summary>
    private Tensor ResizeForResolution(Tensor x, int epoch, int b)
    {
        if (_augment.MultiResolutionProb <= 0 || epoch < _augment.MultiResolutionFromEpoch) return x;
        var rng = CounterRng.For(_seed, epoch, CounterRng.Purpose.Resolution, b);
        if (rng.NextDouble() >= _augment.MultiResolutionProb) return x;
        var (height, width) = _augment.MultiResolutions[rng.Next(0, _augment.MultiResolutions.Count)];
        if (height == x.shape[2] && width == x.shape[3]) return x;
        if (_augment.MultiResolutionSamePixels)
        {
            // The first images of the batch, as many as hold the pixels of a full batch at the base size: the step then
            // costs close to a base step (1.3 of them at 56×56 on the Fashion-MNIST hybrid) instead of several.
            long keep = Math.Clamp(x.shape[0] * x.shape[2] * x.shape[3] / ((long)height * width), 1, x.shape[0]);
            x = x.narrow(0, 0, keep);
        }
        return SampleAugmenter.ResizeBatch(x, height, width);
    }
}
