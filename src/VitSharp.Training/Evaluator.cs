using System.Diagnostics;
using VitSharp.Models;
using VitSharp.Training.Data;
using static TorchSharp.torch;

namespace VitSharp.Training;

/// <summary>Top-1 accuracy of a model over every image of a loader, and its throughput.</summary>
public sealed record EvalResult(double Accuracy, int Count, double ImagesPerSecond, double Seconds);

public static class Evaluator
{
    /// <summary>
    /// Runs <paramref name="model"/> in evaluation mode (restoring its mode after) over epoch 0 of
    /// <paramref name="loader"/>; the images are converted to the model's dtype and device (a bfloat16 model runs in bfloat16).
    /// </summary>
    public static EvalResult Evaluate(VisionTransformer model, DataLoader loader)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loader);
        bool wasTraining = model.training;
        var dtype = model.PosEmbedParameter.dtype;
        var device = model.PosEmbedParameter.device;
        model.eval();
        long correct = 0;
        int count = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            using var noGrad = no_grad();
            foreach (var batch in loader.Epoch(0))
            {
                using (batch)
                using (var scope = NewDisposeScope())
                {
                    var predicted = model.call(batch.Images.to(dtype, device)).argmax(-1).cpu();
                    correct += predicted.eq(batch.Labels).sum().item<long>();
                    count += checked((int)batch.Labels.shape[0]);
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        return new EvalResult(count == 0 ? double.NaN : (double)correct / count, count, count / Math.Max(seconds, 1e-9), seconds);
    }
}
