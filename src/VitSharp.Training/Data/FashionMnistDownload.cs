using System.Security.Cryptography;

namespace VitSharp.Training.Data;

/// <summary>
/// Fetches the four official Fashion-MNIST files for users with internet, the way torchvision's <c>FashionMNIST(download=True)</c>
/// does: from Zalando's mirror, each checked against the MD5 the dataset publishes before it is kept. A file is
/// written to a temporary name, flushed and renamed, so an interrupted or corrupt download never leaves a file that
/// looks complete; files already present with the right checksum are not fetched again.
/// </summary>
public static class FashionMnistDownload
{
    /// <summary>The official files and their MD5s (Fashion-MNIST README; the same as torchvision's resources).</summary>
    public static IReadOnlyDictionary<string, string> OfficialMd5 { get; } = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte.gz"] = "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        ["train-labels-idx1-ubyte.gz"] = "25c81989df183df01b3e8a0aad5dffbe",
        ["t10k-images-idx3-ubyte.gz"] = "bef4ecab320f06d8554ea6380940ec79",
        ["t10k-labels-idx1-ubyte.gz"] = "bb300cfdad3c16e7a12a480ee83cd310",
    };

    /// <summary>Where <c>fashion-mnist:download</c> keeps the files: <c>$VITSHARP_DATA/fashion-mnist</c>, else <c>~/.cache/vitsharp/fashion-mnist</c>.</summary>
    public static string DefaultFolder =>
        Path.Combine(Environment.GetEnvironmentVariable("VITSHARP_DATA") is { Length: > 0 } root
            ? root
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "vitsharp"), "fashion-mnist");

    /// <summary>
    /// Makes <paramref name="folder"/> hold the four files with the expected checksums, downloading what is missing or
    /// wrong from <paramref name="baseUrl"/> (default <see cref="FashionMnist.DownloadUrl"/>). Returns the folder.
    /// </summary>
    public static string Ensure(string folder, string? baseUrl = null, IReadOnlyDictionary<string, string>? expectedMd5 = null,
        HttpClient? client = null, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        baseUrl ??= FashionMnist.DownloadUrl;
        if (!baseUrl.EndsWith('/')) baseUrl += "/";
        expectedMd5 ??= OfficialMd5;
        Directory.CreateDirectory(folder);
        using var owned = client is null ? new HttpClient { Timeout = TimeSpan.FromMinutes(10) } : null;
        var http = client ?? owned!;

        foreach (var (file, md5) in expectedMd5)
        {
            string target = Path.Combine(folder, file);
            if (File.Exists(target) && Md5Of(target) == md5) continue;
            log?.WriteLine($"downloading {baseUrl}{file} -> {target}");
            string temporary = target + ".download";
            try
            {
                using (var response = http.GetAsync(baseUrl + file, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult())
                {
                    if (!response.IsSuccessStatusCode)
                        throw new IOException($"downloading {baseUrl}{file} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
                    using var body = response.Content.ReadAsStream();
                    using var output = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None);
                    body.CopyTo(output);
                    output.Flush(flushToDisk: true);
                }
                string actual = Md5Of(temporary);
                if (actual != md5)
                    throw new InvalidDataException($"{baseUrl}{file} has MD5 {actual}, not the official {md5}: the download is corrupt or not Fashion-MNIST; nothing was kept");
                File.Move(temporary, target, overwrite: true);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                throw new IOException($"downloading {baseUrl}{file} failed: {e.Message} (no internet? install Debian's dataset-fashion-mnist, or put the four files in a folder and pass fashion-mnist:DIR)", e);
            }
            finally
            {
                if (File.Exists(temporary)) File.Delete(temporary);
            }
        }
        return folder;
    }

    private static string Md5Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(MD5.HashData(stream));
    }
}
