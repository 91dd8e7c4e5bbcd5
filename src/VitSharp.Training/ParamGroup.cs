using TorchSharp.Modules;

namespace VitSharp.Training;

/// <summary>
/// Parameters that share a weight decay and a learning-rate scale (timm's <c>lr_scale</c>): the group's learning
/// rate at a step is the schedule's value times <see cref="LrScale"/>.
/// </summary>
public sealed record ParamGroup(string Name, IReadOnlyList<(string Name, Parameter Parameter)> Parameters, double WeightDecay, double LrScale = 1.0);
