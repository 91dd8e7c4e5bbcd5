namespace VitSharp.Inference;

/// <summary>One class of a classifier's top-k answer.</summary>
/// <param name="Label">The class name (see <see cref="VitSharp.Labels.ClassLabels"/>).</param>
/// <param name="Index">The class index in the model's head.</param>
/// <param name="Probability">Softmax of the logits, in [0, 1].</param>
public sealed record Prediction(string Label, int Index, float Probability);
