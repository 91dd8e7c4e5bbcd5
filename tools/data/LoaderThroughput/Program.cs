// Measures the images per second DataLoader delivers to a consumer that only disposes the batches, i.e. the most a
// training loop can be fed. Usage (docs/training-data.md):
//   dotnet run -c Release --project tools/data/LoaderThroughput -- [spec|-] [batch] [workers] [epochs]
using System.Diagnostics;
using System.Globalization;
using VitSharp.Training.Data;

string? spec = args.Length > 0 && args[0] != "-" ? args[0] : null;
int batch = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 256;
int workers = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2;
int epochs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 2;

var dataset = FashionMnist.Open(spec, "train");
if (dataset is ImageDataset { Note: { } note }) Console.WriteLine(note);
var augment = new AugmentOptions { RandomResizedCrop = true, HorizontalFlip = true, Mixup = 0.8 };
var loader = new DataLoader(dataset, batch, shuffle: true, seed: 0, augment, workers: workers);
Console.WriteLine($"{dataset.Count} images, batch {batch}, {workers} workers, RandomResizedCrop + flip + mixup 0.8");
for (int epoch = 0; epoch < epochs; epoch++)
{
    var clock = Stopwatch.StartNew();
    long images = 0;
    foreach (var b in loader.Epoch(epoch))
    {
        images += b.Images.shape[0];
        b.Dispose();
    }
    double seconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine($"epoch {epoch}: {images} images in {seconds:F2} s = {images / seconds:F0} images/s");
}
