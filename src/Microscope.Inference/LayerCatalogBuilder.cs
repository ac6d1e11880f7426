using Microscope.Onnx;
using Microscope.Onnx.Layout;
using Microscope.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microscope.Inference;

/// <summary>
/// Builds a model's layer catalog. Shapes are measured, not guessed: the tensors on the image's
/// data path are made graph outputs and the model is run once on a grey probe image at its default
/// size, with a batch of two so the batch axis can be told apart. Each candidate's axis roles are
/// then followed from the image (<see cref="RolePropagation"/>): a channels-last map or a token
/// sequence becomes a layer read through its canonical N×C×H×W view, which is added to the graph;
/// a tensor whose roles cannot be established is hidden, and the catalog says why.
/// </summary>
public static class LayerCatalogBuilder
{
    /// <summary>The probe's batch: two images, so a batch axis is never confused with a size-1 axis.</summary>
    public const int ProbeBatch = 2;

    public static LayerCatalog Build(ModelManifest manifest, VisionGraph vision, SessionFactory sessions)
    {
        var graph = vision.Graph;
        var candidates = LayerSelection.Candidates(graph).ToList();
        foreach (var extra in manifest.Layers.Add)
        {
            var producer = graph.Producer(extra)
                ?? throw new ModelFormatException($"{manifest.Id}: the manifest adds the layer '{extra}', but the model has no tensor of that name.");
            if (candidates.All(c => c.Tensor != extra))
            {
                candidates.Add(new LayerCandidate(extra, producer, -1));
            }
        }

        var order = new Dictionary<NodeProto, int>(ReferenceEqualityComparer.Instance);
        foreach (var node in graph.TopologicalOrder)
        {
            order[node] = order.Count;
        }

        candidates = [.. candidates.OrderBy(c => order[c.Node])];
        sessions.Settings.Probe.Check(vision.Spec.Height, vision.Spec.Width, candidates.Count, manifest.Id);

        var (shapes, batch) = ProbeDataPath(vision, sessions, manifest.Id);
        var roles = RolePropagation.Run(graph, VisionGraph.ImageInput, shapes, batch);
        var affine = LayerGraph.AffineInImage(graph, VisionGraph.ImageInput);

        var taken = new HashSet<string>(StringComparer.Ordinal);
        var layers = new List<Layer>();
        var hidden = new HashSet<string>(manifest.Layers.Hide, StringComparer.Ordinal);
        var usedAliases = new HashSet<string>(StringComparer.Ordinal);
        var usedRoles = new HashSet<string>(StringComparer.Ordinal);
        var notLayers = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var viewNodes = new List<NodeProto>();
        var viewConstants = new List<TensorProto>();
        foreach (var candidate in candidates)
        {
            var added = manifest.Layers.Add.Contains(candidate.Tensor);
            if (!shapes.TryGetValue(candidate.Tensor, out var shape))
            {
                if (added)
                {
                    throw new ModelFormatException($"{manifest.Id}: the manifest adds the layer '{candidate.Tensor}', which is not a float tensor on the image's path.");
                }

                continue;
            }

            var derived = Ids.FromName(candidate.Node.Output.Count == 1 && !string.IsNullOrEmpty(candidate.Node.Name) && graph.Producer(candidate.Tensor) == candidate.Node && !candidate.Node.Name.StartsWith(VisionGraph.ReservedPrefix, StringComparison.Ordinal) ? candidate.Node.Name : candidate.Tensor);
            var stated = manifest.Layers.Roles.TryGetValue(candidate.Tensor, out var text) || manifest.Layers.Roles.TryGetValue(derived, out text);
            if (stated)
            {
                usedRoles.Add(manifest.Layers.Roles.ContainsKey(candidate.Tensor) ? candidate.Tensor : derived);
            }

            var labels = stated ? LayerRoles.Parse(text!, shape, batch, $"{manifest.Id}: layer '{derived}'") : roles.GetValueOrDefault(candidate.Tensor);
            var (layout, why) = labels is null
                ? (null, new NotALayer("no path from the image"))
                : LayerLayouts.Classify(labels, batch > 1);
            if (layout is null)
            {
                if (added || stated)
                {
                    throw new ModelFormatException($"{manifest.Id}: the manifest adds the layer '{candidate.Tensor}', but it has {why!.Reason}; state its axes under layers.roles (for example \"N,H,W,C\").");
                }

                if (!hidden.Contains(derived) && !hidden.Contains(candidate.Tensor))
                {
                    (notLayers.TryGetValue(why!.Reason, out var list) ? list : notLayers[why.Reason] = []).Add(derived);
                }

                continue;
            }

            long[] canonical = layout.IsCanonical ? [1, .. shape[1..]] : [1, .. layout.CanonicalShape];
            if (!added && !LayerSelection.KeepAfterProbe(graph, candidate, canonical))
            {
                continue;
            }

            if (manifest.Layers.Aliases.TryGetValue(derived, out var alias) || manifest.Layers.Aliases.TryGetValue(candidate.Tensor, out alias))
            {
                if (!Ids.IsValid(alias))
                {
                    throw new ModelFormatException($"{manifest.Id}: the alias '{alias}' is not a valid layer id (letters, digits, '.', '_' and '-').");
                }

                usedAliases.Add(derived);
                usedAliases.Add(candidate.Tensor);
                derived = alias;
            }

            if (hidden.Contains(derived) || hidden.Contains(candidate.Tensor))
            {
                continue;
            }

            var id = Ids.Unique(derived, taken);
            var view = LayerLayouts.View(candidate.Tensor, labels!, layout, $"{VisionGraph.ReservedPrefix}view/{id}/");
            viewNodes.AddRange(view.Nodes);
            viewConstants.AddRange(view.Constants);
            var fixedSize = view.FixedSize || RolePropagation.FixesSize(graph, candidate.Tensor, roles);
            layers.Add(new Layer(id, view.Tensor, candidate.Node.OpType, candidate.Node.Name, [.. canonical[1..].Select(Narrow)])
            {
                Source = candidate.Tensor,
                FixedSize = fixedSize,
                Layout = layout.Axes,
                ExtraTokens = (int)layout.ExtraTokens,
                AffineInImage = affine.Contains(candidate.Tensor),
            });
            // An extra token is a constant until attention mixes the image into it: only then is it a layer.
            for (var e = 0; e < view.ExtraTokens.Count && AfterAttention(graph, candidate.Tensor, roles); e++)
            {
                var tokenId = Ids.Unique(view.ExtraTokens.Count == 1 ? id + ".cls" : $"{id}.token{e}", taken);
                layers.Add(new Layer(tokenId, view.ExtraTokens[e], candidate.Node.OpType, candidate.Node.Name, [Narrow(layout.Units)])
                {
                    Source = candidate.Tensor,
                    Layout = layout.Axes,
                    Token = e,
                    FixedSize = fixedSize,
                });
            }
        }

        var edges = LayerGraph.Edges(graph, VisionGraph.ImageInput, [.. layers.Select(l => (l.Id, l.Source))]);
        vision.Append(viewNodes, viewConstants);

        var unusedAliases = manifest.Layers.Aliases.Keys.Where(k => !usedAliases.Contains(k)).ToList();
        if (unusedAliases.Count > 0)
        {
            throw new ModelFormatException($"{manifest.Id}: the manifest renames layers the model does not show: {string.Join(", ", unusedAliases)}.");
        }

        var unusedRoles = manifest.Layers.Roles.Keys.Where(k => !usedRoles.Contains(k)).ToList();
        if (unusedRoles.Count > 0)
        {
            throw new ModelFormatException($"{manifest.Id}: the manifest states roles for tensors that are not layer candidates: {string.Join(", ", unusedRoles)} (add them under layers.add first).");
        }

        return new LayerCatalog(manifest.Id, manifest.Title, manifest.Source, vision.ModelInput, manifest.Input.Size, [.. manifest.Assumptions.Concat(vision.Assumptions).Distinct()], layers)
        {
            Hidden = [.. notLayers.Select(g => new HiddenLayers(g.Key, g.Value.Count, [.. g.Value.Take(3)]))],
            Edges = edges,
        };
    }

    /// <summary>True when a product of two image-dependent tensors (attention) lies on the way from the image to <paramref name="tensor"/>.</summary>
    private static bool AfterAttention(OnnxGraph graph, string tensor, IReadOnlyDictionary<string, AxisLabels> onPath) =>
        graph.Ancestors([tensor]).Any(n => n.OpType is "MatMul" or "Einsum" or "Gemm" && n.Input.Count(onPath.ContainsKey) > 1);

    private static int Narrow(long size) =>
        size is > 0 and <= int.MaxValue ? (int)size : throw new ModelFormatException($"a layer axis of size {size} is out of range.");

    /// <summary>
    /// Runs the composed model once and returns the shape of every float tensor that depends on the
    /// image, with the batch it ran at: <see cref="ProbeBatch"/>, or 1 for a model that cannot run
    /// a larger batch (a reshape that pins it).
    /// </summary>
    public static (Dictionary<string, long[]> Shapes, int Batch) ProbeDataPath(VisionGraph vision, SessionFactory sessions, string source)
    {
        var graph = vision.Graph;
        var onPath = new HashSet<string>(StringComparer.Ordinal) { VisionGraph.ImageInput };
        var tensors = new List<string>();
        foreach (var node in graph.TopologicalOrder)
        {
            if (node.Input.Any(onPath.Contains))
            {
                foreach (var output in node.Output.Where(o => o.Length > 0))
                {
                    onPath.Add(output);
                    tensors.Add(output);
                }
            }
        }

        try
        {
            return (Probe(vision, tensors, sessions, source, ProbeBatch), ProbeBatch);
        }
        catch (OnnxRuntimeException)
        {
            return (Probe(vision, tensors, sessions, source, 1), 1);
        }
    }

    /// <summary>Runs the composed model once and returns the shape of each named float tensor, the image included.</summary>
    public static Dictionary<string, long[]> Probe(VisionGraph vision, IReadOnlyList<string> tensors, SessionFactory sessions, string source, int batch = 1)
    {
        var model = vision.Model.Clone();
        model.Graph.Output.Clear();
        foreach (var tensor in tensors)
        {
            // No type: ONNX Runtime infers it, which is all a probe needs.
            model.Graph.Output.Add(new ValueInfoProto { Name = tensor });
        }

        using var session = sessions.Create(OnnxModelFile.ToBytes(model), source);
        var (h, w) = (vision.Spec.Height, vision.Spec.Width);
        var probe = new DenseTensor<float>(new[] { batch, 3, h, w });
        probe.Buffer.Span.Fill(0.5f);
        using var results = session.Session.Run([NamedOnnxValue.CreateFromTensor(VisionGraph.ImageInput, probe)], tensors);
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal) { [VisionGraph.ImageInput] = [batch, 3, h, w] };
        foreach (var result in results)
        {
            // Integer tensors (shape arithmetic an exporter left in the graph) are not layers.
            if (result.Value is Tensor<float> value)
            {
                shapes[result.Name] = value.Dimensions.ToArray().Select(d => (long)d).ToArray();
            }
        }

        return shapes;
    }
}
