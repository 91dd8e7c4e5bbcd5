namespace VitSharp.Fuzz;

/// <summary>An input that broke a target's contract, and how.</summary>
public sealed record Finding(byte[] Input, string Problem);

/// <summary>What a campaign saw: inputs read whole, inputs refused as documented, and findings.</summary>
public sealed record CampaignResult(int Accepted, int Refused, IReadOnlyList<Finding> Findings);

/// <summary>
/// Runs a target in-process on seeded mutations of seed files, without AFL: quick enough for the test suite and
/// reproducible from the seed. Besides undocumented exceptions it flags inputs that made the reader allocate more
/// than the input could describe.
/// </summary>
public static class MutationCampaign
{
    /// <summary>
    /// Managed bytes a read may allocate per input byte, plus a fixed allowance (JSON parsing, names, the
    /// reader's objects). Sizing a buffer from an unchecked header number would blow far past it.
    /// </summary>
    private const long ManagedBytesPerInputByte = 16;
    private const long ManagedAllowance = 1 << 20;

    public static CampaignResult Run(FuzzTarget target, IReadOnlyList<byte[]> seeds, int count, int seed)
    {
        if (seeds.Count == 0) throw new ArgumentException("At least one seed file is needed.", nameof(seeds));
        var mutator = new SafeTensorsMutator(seed);
        var pick = new Random(seed);
        int accepted = 0, refused = 0;
        var findings = new List<Finding>();
        for (int i = 0; i < count; i++)
        {
            byte[] input = mutator.Mutate(seeds[pick.Next(seeds.Count)]);
            switch (RunOne(target, input, out string? problem))
            {
                case true: accepted++; break;
                case false: refused++; break;
            }
            if (problem is not null) findings.Add(new Finding(input, problem));
        }
        return new CampaignResult(accepted, refused, findings);
    }

    /// <summary>Runs one input; returns true if read, false if refused as documented, null on an undocumented exception.</summary>
    public static bool? RunOne(FuzzTarget target, byte[] input, out string? problem)
    {
        problem = null;
        long managedBefore = GC.GetAllocatedBytesForCurrentThread();
        long? tensorBytes;
        try
        {
            tensorBytes = target.Run(new MemoryStream(input, writable: false));
        }
        catch (Exception e)
        {
            problem = $"undocumented {e.GetType().FullName}: {e.Message}";
            return null;
        }

        long managed = GC.GetAllocatedBytesForCurrentThread() - managedBefore;
        if (tensorBytes > input.Length)
            problem = $"read {tensorBytes} tensor bytes from a {input.Length}-byte input";
        else if (managed > ManagedAllowance + ManagedBytesPerInputByte * input.Length)
            problem = $"allocated {managed} managed bytes for a {input.Length}-byte input";
        return tensorBytes is not null;
    }
}
