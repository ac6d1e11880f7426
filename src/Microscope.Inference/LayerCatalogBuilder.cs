using Microscope.Onnx;
using Microscope.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microscope.Inference;

/// <summary>
/// Builds a model's layer catalog. Shapes are measured, not guessed: the candidate tensors are made
/// graph outputs and the model is run once on a grey probe image at its default size.
/// </summary>
public static class LayerCatalogBuilder
{
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

        var shapes = Probe(vision, candidates.Select(c => c.Tensor).ToList(), sessions, manifest.Id);

        var taken = new HashSet<string>(StringComparer.Ordinal);
        var layers = new List<Layer>();
        var hidden = new HashSet<string>(manifest.Layers.Hide, StringComparer.Ordinal);
        var usedAliases = new HashSet<string>(StringComparer.Ordinal);
        foreach (var candidate in candidates)
        {
            var added = manifest.Layers.Add.Contains(candidate.Tensor);
            if (!shapes.TryGetValue(candidate.Tensor, out var shape))
            {
                if (added)
                {
                    throw new ModelFormatException($"{manifest.Id}: the manifest adds the layer '{candidate.Tensor}', which is not a float tensor.");
                }

                continue;
            }

            if (!added && !LayerSelection.KeepAfterProbe(graph, candidate, shape))
            {
                continue;
            }

            if (shape.Length is not (2 or 4))
            {
                throw new ModelFormatException($"{manifest.Id}: layer '{candidate.Tensor}' has shape [{string.Join(",", shape)}]; only N×C×H×W and N×K layers can be shown.");
            }

            var derived = Ids.FromName(candidate.Node.Output.Count == 1 && !string.IsNullOrEmpty(candidate.Node.Name) && graph.Producer(candidate.Tensor) == candidate.Node && !candidate.Node.Name.StartsWith(VisionGraph.ReservedPrefix, StringComparison.Ordinal) ? candidate.Node.Name : candidate.Tensor);
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
            int[] dims = shape.Length == 4 ? [(int)shape[1], (int)shape[2], (int)shape[3]] : [(int)shape[1]];
            layers.Add(new Layer(id, candidate.Tensor, candidate.Node.OpType, candidate.Node.Name, dims));
        }

        var unusedAliases = manifest.Layers.Aliases.Keys.Where(k => !usedAliases.Contains(k)).ToList();
        if (unusedAliases.Count > 0)
        {
            throw new ModelFormatException($"{manifest.Id}: the manifest renames layers the model does not show: {string.Join(", ", unusedAliases)}.");
        }

        return new LayerCatalog(manifest.Id, manifest.Title, manifest.Source, vision.ModelInput, manifest.Input.Size, [.. manifest.Assumptions, .. vision.Assumptions], layers);
    }

    /// <summary>Runs the composed model once and returns the shape of each named float tensor (with batch 1).</summary>
    public static Dictionary<string, long[]> Probe(VisionGraph vision, IReadOnlyList<string> tensors, SessionFactory sessions, string source)
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
        var probe = new DenseTensor<float>(new[] { 1, 3, h, w });
        probe.Buffer.Span.Fill(0.5f);
        using var results = session.Session.Run([NamedOnnxValue.CreateFromTensor(VisionGraph.ImageInput, probe)], tensors);
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
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
