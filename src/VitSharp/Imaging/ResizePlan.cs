namespace VitSharp.Imaging;

/// <summary>
/// The geometry of one preprocessing: from the size of an image, the size PIL resizes it to and the centre crop taken
/// after, computed with torchvision's integer rules so that sizes agree with PyTorch to the pixel.
/// </summary>
internal abstract record ResizePlan
{
    /// <summary>The resize target and the crop rectangle (left, top, width, height) for an image of this size.</summary>
    public abstract (int Width, int Height, int Left, int Top, int CropWidth, int CropHeight) For(int width, int height);

    /// <summary>The torchvision transforms this plan reproduces, e.g. <c>Resize(256) + CenterCrop(224)</c>.</summary>
    public abstract string Describe(string filter);

    /// <summary>torchvision <c>Resize(int)</c>: the shorter side becomes <c>size</c>, the longer <c>int(size * long / short)</c>.</summary>
    internal static (int Width, int Height) ShorterSide(int width, int height, int size)
    {
        if (width <= height) return (size, (int)((double)((long)size * height) / width));
        return ((int)((double)((long)size * width) / height), size);
    }

    /// <summary>torchvision <c>CenterCrop</c> offsets: <c>int(round((size - crop) / 2))</c>, Python rounding half to even.</summary>
    internal static int CropOffset(int size, int crop) => (int)Math.Round((size - crop) / 2.0, MidpointRounding.ToEven);

    /// <summary><c>Resize(scale)</c> on the shorter side, then <c>CenterCrop((cropHeight, cropWidth))</c>.</summary>
    public sealed record ShorterSideThenCrop(int Scale, int CropWidth, int CropHeight) : ResizePlan
    {
        public override (int, int, int, int, int, int) For(int width, int height)
        {
            var (w, h) = ShorterSide(width, height, Scale);
            return (w, h, CropOffset(w, CropWidth), CropOffset(h, CropHeight), CropWidth, CropHeight);
        }

        public override string Describe(string filter) => $"Resize({Scale}, {filter}) + CenterCrop(({CropHeight}, {CropWidth}))";
    }

    /// <summary><c>Resize((h, w))</c> to a fixed size, then <c>CenterCrop((cropHeight, cropWidth))</c>; no crop when the sizes are equal.</summary>
    public sealed record FixedThenCrop(int Width, int Height, int CropWidth, int CropHeight) : ResizePlan
    {
        public override (int, int, int, int, int, int) For(int width, int height) =>
            (Width, Height, CropOffset(Width, CropWidth), CropOffset(Height, CropHeight), CropWidth, CropHeight);

        public override string Describe(string filter) => Width == CropWidth && Height == CropHeight
            ? $"Resize(({Height}, {Width}), {filter})"
            : $"Resize(({Height}, {Width}), {filter}) + CenterCrop(({CropHeight}, {CropWidth}))";
    }

    /// <summary>
    /// Aspect-preserving resize onto a patch grid of at most <c>MaxTokens</c> patches: the real-valued grid with the
    /// image's aspect ratio and exactly <c>MaxTokens</c> cells, each side floored (at least 1 patch), no crop.
    /// </summary>
    public sealed record NativeGrid(int Patch, int MaxTokens) : ResizePlan
    {
        public override (int, int, int, int, int, int) For(int width, int height)
        {
            var (cols, rows) = Grid(width, height);
            int w = cols * Patch, h = rows * Patch;
            return (w, h, 0, 0, w, h);
        }

        /// <summary>Patch columns and rows for an image of this size.</summary>
        public (int Cols, int Rows) Grid(int width, int height)
        {
            double scale = Math.Sqrt(MaxTokens * (double)Patch * Patch / ((double)width * height));
            // The epsilon keeps an exact fit (e.g. 224x224 at 196 tokens -> 14x14) from flooring one below through rounding error.
            int cols = Math.Max(1, (int)Math.Floor(width * scale / Patch + 1e-9));
            int rows = Math.Max(1, (int)Math.Floor(height * scale / Patch + 1e-9));
            // A side clamped up to 1 patch can push the product over the budget; the other side then takes what is left.
            if ((long)cols * rows > MaxTokens)
            {
                if (cols == 1) rows = MaxTokens;
                else cols = MaxTokens;
            }
            return (cols, rows);
        }

        public override string Describe(string filter) =>
            $"Resize((rows*{Patch}, cols*{Patch}), {filter}) with the aspect ratio kept and rows*cols <= {MaxTokens}";
    }
}
