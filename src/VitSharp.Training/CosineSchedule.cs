namespace VitSharp.Training;

/// <summary>
/// The learning rate per optimizer step: linear warmup from <see cref="WarmupLrInit"/> to <see cref="BaseLr"/>
/// over <see cref="WarmupSteps"/>, then a half cosine from <see cref="BaseLr"/> to <see cref="MinLr"/> reached at
/// <see cref="TotalSteps"/>, and <see cref="MinLr"/> after. These are timm's <c>CosineLRScheduler</c> semantics
/// with <c>t_in_epochs=False</c>, one cycle and <c>warmup_prefix=False</c>: the cosine runs over the whole schedule
/// (warmup included), so after warmup it continues where an unwarmed cosine would be.
/// </summary>
public sealed record CosineSchedule(double BaseLr, double MinLr, long WarmupSteps, long TotalSteps, double WarmupLrInit = 1e-6)
{
    public double At(long step)
    {
        if (step < WarmupSteps) return WarmupLrInit + step * (BaseLr - WarmupLrInit) / WarmupSteps;
        if (step >= TotalSteps) return MinLr;
        return MinLr + 0.5 * (BaseLr - MinLr) * (1 + Math.Cos(Math.PI * step / TotalSteps));
    }
}
