using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using VitSharp.Training.Data;

namespace VitSharp.Tests.Training.Data;

/// <summary>The download path of <c>fashion-mnist:download</c>, against a local HTTP server standing in for the mirror.</summary>
public sealed class FashionMnistDownloadTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("vitsharp-fmnist-download-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    /// <summary>The four files of a 3-image dataset, gzip'd as the mirror serves them.</summary>
    private static Dictionary<string, byte[]> TinyDataset()
    {
        static byte[] Gzip(byte[] raw)
        {
            using var buffer = new MemoryStream();
            using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest)) gzip.Write(raw);
            return buffer.ToArray();
        }
        static byte[] Idx(int type, int[] dims, byte[] data) =>
            [0, 0, 8, (byte)type, .. dims.SelectMany(d => new[] { (byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d }), .. data];
        var images = Idx(3, [3, 28, 28], [.. Enumerable.Range(0, 3 * 784).Select(i => (byte)i)]);
        var labels = Idx(1, [3], [9, 0, 4]);
        return new()
        {
            ["train-images-idx3-ubyte.gz"] = Gzip(images),
            ["train-labels-idx1-ubyte.gz"] = Gzip(labels),
            ["t10k-images-idx3-ubyte.gz"] = Gzip(images),
            ["t10k-labels-idx1-ubyte.gz"] = Gzip(labels),
        };
    }

    /// <summary>Serves <paramref name="files"/> at http://127.0.0.1:PORT/ (404 for anything else) and counts the requests.</summary>
    private sealed class Mirror : IDisposable
    {
        private readonly HttpListener listener = new();
        private readonly Task loop;
        public int Requests;

        public Mirror(IReadOnlyDictionary<string, byte[]> files)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Url = $"http://127.0.0.1:{port}/";
            listener.Prefixes.Add(Url);
            listener.Start();
            loop = Task.Run(async () =>
            {
                while (listener.IsListening)
                {
                    HttpListenerContext context;
                    try { context = await listener.GetContextAsync(); } catch (Exception) { return; }
                    Interlocked.Increment(ref Requests);
                    string name = context.Request.Url!.AbsolutePath.TrimStart('/');
                    if (files.TryGetValue(name, out var body))
                    {
                        context.Response.ContentLength64 = body.Length;
                        await context.Response.OutputStream.WriteAsync(body);
                    }
                    else
                    {
                        context.Response.StatusCode = 404;
                    }
                    context.Response.Close();
                }
            });
        }

        public string Url { get; }

        public void Dispose()
        {
            listener.Stop();
            listener.Close();
            loop.Wait(TimeSpan.FromSeconds(5));
        }
    }

    private static Dictionary<string, string> Md5s(Dictionary<string, byte[]> files) =>
        files.ToDictionary(f => f.Key, f => Convert.ToHexStringLower(MD5.HashData(f.Value)));

    [Fact]
    public void Downloads_checks_and_loads_the_files_once()
    {
        var files = TinyDataset();
        using var mirror = new Mirror(files);
        string folder = Path.Combine(work, "fmnist");

        FashionMnistDownload.Ensure(folder, mirror.Url, Md5s(files));
        Assert.Equal(4, mirror.Requests);
        var test = FashionMnist.Load(folder, "test");
        Assert.Equal(3, test.Count);
        Assert.Equal(9, test.Get(0).Label);
        Assert.Empty(Directory.GetFiles(folder, "*.download"));

        // Present and intact: nothing is fetched again.
        FashionMnistDownload.Ensure(folder, mirror.Url, Md5s(files));
        Assert.Equal(4, mirror.Requests);
    }

    [Fact]
    public void A_file_with_the_wrong_checksum_is_refused_and_not_kept()
    {
        var files = TinyDataset();
        var expected = Md5s(files);
        files["t10k-labels-idx1-ubyte.gz"] = [.. files["t10k-labels-idx1-ubyte.gz"].Take(10)]; // truncated in transit
        using var mirror = new Mirror(files);
        string folder = Path.Combine(work, "fmnist");

        var error = Assert.Throws<InvalidDataException>(() => FashionMnistDownload.Ensure(folder, mirror.Url, expected));
        Assert.Contains("t10k-labels-idx1-ubyte.gz has MD5", error.Message);
        Assert.Contains(expected["t10k-labels-idx1-ubyte.gz"], error.Message);
        Assert.False(File.Exists(Path.Combine(folder, "t10k-labels-idx1-ubyte.gz")));
        Assert.Empty(Directory.GetFiles(folder, "*.download"));
    }

    [Fact]
    public void A_missing_file_or_an_unreachable_mirror_says_what_to_do()
    {
        var files = TinyDataset();
        var expected = Md5s(files);
        files.Remove("train-images-idx3-ubyte.gz");
        using (var mirror = new Mirror(files))
        {
            var notFound = Assert.Throws<IOException>(() => FashionMnistDownload.Ensure(Path.Combine(work, "a"), mirror.Url, expected));
            Assert.Contains("HTTP 404", notFound.Message);
        }

        var unreachable = Assert.Throws<IOException>(() => FashionMnistDownload.Ensure(Path.Combine(work, "b"), "http://127.0.0.1:1/", expected));
        Assert.Contains("dataset-fashion-mnist", unreachable.Message);
    }
}
