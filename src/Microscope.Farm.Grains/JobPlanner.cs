namespace Microscope.Farm.Grains;

/// <summary>
/// Turns a job into work items: layer by layer in the order asked (graph order, early layers first,
/// by default, so the first results come quickly), then lens by lens, units in batches. Dataset
/// examples become one scan per dataset shard, each through every layer asked at once (one pass over
/// the images, not one per layer), and per layer merges of up to <see cref="MergeUnits"/> units that
/// wait for the shards.
/// </summary>
public static class JobPlanner
{
    public const int MaxItems = 200_000;

    /// <summary>
    /// Units per dataset merge: a merge reads its layer's shards and decodes each example image once
    /// for all its units (images popular with many units are shared), so merges are large, but a
    /// 512-unit layer still spreads over 8 silos.
    /// </summary>
    public const int MergeUnits = 64;

    /// <summary>Longest layer and unit lists a job may name, before duplicates are removed: a body of a million units is refused, not stored.</summary>
    public const int MaxListLength = 10_000;

    /// <summary>
    /// The spec as it is stored: layers without repeats, units sorted without repeats and every one a
    /// unit of some asked layer (null when they are every unit of them all). A unit no asked layer has is
    /// refused, not silently dropped: it is a typo or a hostile list.
    /// </summary>
    public static JobSpec Normalize(JobSpec spec, ModelInfo model)
    {
        Validate(spec);
        var layers = spec.Layers.Distinct(StringComparer.Ordinal).ToList();
        var asked = layers.Count == 0 ? model.Layers : layers.Select(model.Layer).ToList();
        var widest = asked.Max(l => l.Units);
        var units = spec.Units?.Distinct().Order().ToList();
        if (units is [var lowest, ..] && (lowest < 0 || units[^1] >= widest))
        {
            var wrong = lowest < 0 ? lowest : units[^1];
            throw new FarmInputException($"unit {wrong} is in none of the layers asked for: the widest has {widest} units (0 to {widest - 1}).");
        }

        return spec with { Layers = layers, Units = units is not null && units.Count == widest && asked.All(l => l.Units == widest) ? null : units };
    }

    /// <summary>
    /// What a job costs to render, in unit-steps at 128×128 pixels: each item's units (one for a layer or
    /// dataset item) times its steps times its image area over 128². Bounded per job by the submitter's quota.
    /// </summary>
    public static double Cost(IEnumerable<WorkItem> items) =>
        items.Sum(i => Math.Max(1, i.Units.Count) * (double)i.Options.Steps * i.Options.Size * i.Options.Size / (128.0 * 128.0));

    /// <summary>A model intake: one item that catalogs the staged package of <paramref name="version"/>.</summary>
    public static List<WorkItem> Intake(string jobId, string model, string version) =>
        [new(jobId, 0, WorkKind.Intake, model, version, "", "", [], LensOptions.Default, 0, 1, [])];

    public static List<WorkItem> Plan(string jobId, JobSpec spec, ModelInfo model)
    {
        Validate(spec);
        var lenses = spec.Lenses.Count == 0 ? [FarmLenses.FeatureVis.Name] : spec.Lenses.Distinct().ToList();
        foreach (var lens in lenses)
        {
            FarmLenses.Get(lens);
            if (!model.Lenses.Contains(lens))
            {
                throw new FarmInputException($"model '{model.Id}' does not offer the {lens} lens ({string.Join("; ", model.Notes.DefaultIfEmpty("its offered lenses: " + string.Join(", ", model.Lenses)))}).");
            }
        }

        var layers = spec.Layers.Count == 0 ? model.Layers : spec.Layers.Distinct().Select(model.Layer).ToList();
        List<int> UnitsOf(LayerInfo layer) => spec.Units is null ? [.. Enumerable.Range(0, layer.Units)] : [.. spec.Units.Where(u => u >= 0 && u < layer.Units).Distinct().Order()];
        var scanned = layers.Where(l => UnitsOf(l).Count > 0).Select(l => l.Id).ToList();
        var items = new List<WorkItem>();
        var shardsByLens = new Dictionary<string, List<int>>();
        foreach (var layer in layers)
        {
            var units = UnitsOf(layer);
            if (units.Count == 0)
            {
                continue;
            }

            foreach (var lens in lenses)
            {
                var kind = FarmLenses.Get(lens);
                if (kind.OnlyAffineInImage && !layer.AffineInImage)
                {
                    // Asked for every layer, it is rendered where it exists; asked for this layer, the job is refused.
                    if (spec.Layers.Count > 0)
                    {
                        throw new FarmInputException($"layer '{layer.Id}' has no {lens} lens: only a layer affine in the image (a first convolution) has one; {string.Join(", ", model.Layers.Where(l => l.AffineInImage).Select(l => l.Id).DefaultIfEmpty("none of this model's layers"))}.");
                    }

                    continue;
                }

                var options = spec.Options.For(lens);
                WorkItem Item(WorkKind work, IReadOnlyList<int> batch, int shard, int shards, IReadOnlyList<int> after, IReadOnlyList<string>? scan = null) =>
                    new(jobId, items.Count, work, model.Id, model.Version, layer.Id, lens, batch, options, shard, shards, after, scan);

                if (kind.Scope == LensScope.Layer)
                {
                    items.Add(Item(WorkKind.Render, [], 0, 1, []));
                }
                else if (kind.NeedsDataset)
                {
                    // The first layer plans the shards, for every layer; each layer then waits for them.
                    if (!shardsByLens.TryGetValue(lens, out var shards))
                    {
                        shards = [];
                        for (var s = 0; s < spec.DatasetShards; s++)
                        {
                            shards.Add(items.Count);
                            items.Add(Item(WorkKind.DatasetShard, [], s, spec.DatasetShards, [], scanned.Count > 1 ? scanned : null));
                        }

                        shardsByLens[lens] = shards;
                    }

                    foreach (var group in units.Chunk(MergeUnits))
                    {
                        items.Add(Item(WorkKind.DatasetMerge, group, 0, spec.DatasetShards, shards));
                    }
                }
                else
                {
                    foreach (var batch in units.Chunk(spec.UnitsPerItem))
                    {
                        items.Add(Item(WorkKind.Render, batch, 0, 1, []));
                    }
                }

                if (items.Count > MaxItems)
                {
                    throw new FarmInputException($"this job would have more than {MaxItems} work items; ask for fewer layers, units or lenses, or more units per item.");
                }
            }
        }

        if (items.Count == 0)
        {
            throw new FarmInputException($"no layer of model '{model.Id}' has any of the units asked for ({string.Join(", ", spec.Units?.Take(10) ?? [])}).");
        }

        return items;
    }

    private static void Validate(JobSpec spec)
    {
        // JSON null where the spec has a default ("lenses": null, "options": null) is refused, not a null reference later.
        if (spec.Lenses is null || spec.Layers is null || spec.Options is null || spec.RequiredTags is null)
        {
            throw new FarmInputException("lenses, layers, options and requiredTags must not be null: leave a field out to take its default.");
        }

        if (spec.Lenses.Contains(null) || spec.Layers.Contains(null) || spec.RequiredTags.Contains(null))
        {
            throw new FarmInputException("lenses, layers and requiredTags must not contain null.");
        }

        if (spec.Layers.Count > MaxListLength || spec.Units?.Count > MaxListLength)
        {
            throw new FarmInputException($"a job names at most {MaxListLength} layers and {MaxListLength} units (it named {spec.Layers.Count} and {spec.Units?.Count ?? 0}); leave units out for every unit.");
        }

        FarmIds.Check(spec.Model, "model");
        spec.Options.Validate();
        if (spec.UnitsPerItem is < 1 or > 256)
        {
            throw new FarmInputException($"unitsPerItem must be 1 to 256, not {spec.UnitsPerItem}.");
        }

        if (spec.DatasetShards is < 1 or > 256)
        {
            throw new FarmInputException($"datasetShards must be 1 to 256, not {spec.DatasetShards}.");
        }

        if (spec.Lenses.Count > FarmLenses.All.Count || spec.RequiredTags.Count > 16 || spec.ClientToken is { Length: > 128 } || spec.ClientToken?.Any(char.IsControl) == true)
        {
            throw new FarmInputException("a job names at most every lens once, at most 16 required tags, and a client token of at most 128 characters without control characters.");
        }

        foreach (var layer in spec.Layers)
        {
            FarmIds.Check(layer, "layer");
        }

        foreach (var tag in spec.RequiredTags)
        {
            FarmIds.Check(tag, "tag");
        }
    }
}
