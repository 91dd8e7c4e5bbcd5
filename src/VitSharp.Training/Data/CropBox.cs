namespace VitSharp.Training.Data;

/// <summary>A rectangle of an image in pixels: rows [Top, Top + Height), columns [Left, Left + Width).</summary>
internal readonly record struct CropBox(int Top, int Left, int Height, int Width);
