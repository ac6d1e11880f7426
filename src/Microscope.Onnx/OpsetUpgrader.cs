using Microscope.Onnx.Proto;

namespace Microscope.Onnx;

/// <summary>
/// Brings a model to one operator set (17, or the model's own when newer) so that every gradient
/// rule is written once, against one version of each op, and may use the dynamic-shape ops of
/// recent opsets (Slice with tensor bounds, ScatterElements with add, ConstantOfShape) whatever
/// the exporter used. Only the ops whose signature changed between opsets 7 and 17 are rewritten;
/// their outputs keep their names, so layer ids are untouched.
/// </summary>
public static class OpsetUpgrader
{
    public const long MinimumOpset = 7;
    public const long TargetOpset = 17;

    public static ModelProto Upgrade(ModelProto model, string source)
    {
        var graph = new OnnxGraph(model);
        var from = graph.OpsetVersion;
        if (from < MinimumOpset)
        {
            throw new ModelFormatException($"{source}: opset {from} is older than the oldest supported ({MinimumOpset}); re-export the model with a newer exporter.");
        }

        var target = Math.Max(from, TargetOpset);
        var upgraded = model.Clone();
        upgraded.OpsetImport.Clear();
        upgraded.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = target });
        foreach (var other in model.OpsetImport.Where(o => !string.IsNullOrEmpty(o.Domain) && o.Domain != "ai.onnx"))
        {
            upgraded.OpsetImport.Add(other.Clone());
        }

        upgraded.IrVersion = Math.Max(upgraded.IrVersion, 8);
        if (from >= TargetOpset)
        {
            return upgraded;
        }

        var nodes = new List<NodeProto>();
        var initializers = upgraded.Graph.Initializer;
        var names = new GraphEmitter("microscope/upgrade/", GraphEmitter.NamesIn(upgraded.Graph));
        string Constant(TensorProto tensor)
        {
            tensor.Name = names.Fresh("const");
            initializers.Add(tensor);
            return tensor.Name;
        }

        foreach (var node in upgraded.Graph.Node)
        {
            if (!string.IsNullOrEmpty(node.Domain) && node.Domain != "ai.onnx")
            {
                nodes.Add(node);
                continue;
            }

            switch (node.OpType)
            {
                case "BatchNormalization":
                    if (node.Int("spatial", 1) == 0)
                    {
                        throw new ModelFormatException($"{source}: BatchNormalization node '{node.Name}' uses spatial=0, which later opsets removed; it is not supported.");
                    }

                    node.Remove("spatial");
                    node.Remove("is_test");
                    node.Remove("consumed_inputs");
                    while (node.Output.Count > 1)
                    {
                        node.Output.RemoveAt(node.Output.Count - 1);
                    }

                    nodes.Add(node);
                    break;

                case "Dropout":
                    // Inference: Dropout is the identity. A consumed mask output is not supported.
                    node.OpType = "Identity";
                    node.Attribute.Clear();
                    while (node.Input.Count > 1)
                    {
                        node.Input.RemoveAt(node.Input.Count - 1);
                    }

                    while (node.Output.Count > 1)
                    {
                        node.Output.RemoveAt(node.Output.Count - 1);
                    }

                    nodes.Add(node);
                    break;

                case "Upsample" or "Resize" when from < 11:
                    {
                        string scales;
                        if (node.Find("scales") is { } attribute)
                        {
                            scales = Constant(Tensors.Float("", [attribute.Floats.Count], [.. attribute.Floats]));
                        }
                        else
                        {
                            scales = node.Input[1];
                        }

                        var mode = node.String("mode", "nearest");
                        var resize = new NodeProto { OpType = "Resize", Name = node.Name, Input = { node.Input[0], "", scales }, Output = { node.Output[0] } };
                        resize.Attribute.Add(NodeAttributes.StringAttribute("mode", mode is "bilinear" or "linear" ? "linear" : "nearest"));
                        resize.Attribute.Add(NodeAttributes.StringAttribute("coordinate_transformation_mode", "asymmetric"));
                        resize.Attribute.Add(NodeAttributes.StringAttribute("nearest_mode", "floor"));
                        nodes.Add(resize);
                        break;
                    }

                case "Resize" when node.String("coordinate_transformation_mode", "") == "tf_half_pixel_for_nn":
                    throw new ModelFormatException($"{source}: Resize node '{node.Name}' uses coordinate_transformation_mode tf_half_pixel_for_nn, which opset 13 removed; it is not supported.");

                case "Slice" when from < 10:
                    {
                        var starts = node.Ints("starts")!;
                        var ends = node.Ints("ends")!;
                        var axes = node.Ints("axes") ?? [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
                        node.Attribute.Clear();
                        node.Input.Add(Constant(Tensors.Int64Vector("", starts)));
                        node.Input.Add(Constant(Tensors.Int64Vector("", ends)));
                        node.Input.Add(Constant(Tensors.Int64Vector("", axes)));
                        nodes.Add(node);
                        break;
                    }

                case "Pad" when from < 11:
                    {
                        var pads = node.Ints("pads") ?? node.Ints("paddings")!;
                        var value = node.Float("value", 0);
                        var mode = node.String("mode", "constant");
                        node.Attribute.Clear();
                        node.Attribute.Add(NodeAttributes.StringAttribute("mode", mode));
                        node.Input.Add(Constant(Tensors.Int64Vector("", pads)));
                        node.Input.Add(Constant(Tensors.Float("", [], [value])));
                        nodes.Add(node);
                        break;
                    }

                case "Clip" when from < 11:
                    {
                        var min = node.Has("min") ? Constant(Tensors.Float("", [], [node.Float("min", 0)])) : "";
                        var max = node.Has("max") ? Constant(Tensors.Float("", [], [node.Float("max", 0)])) : "";
                        node.Attribute.Clear();
                        node.Input.Add(min);
                        node.Input.Add(max);
                        nodes.Add(node);
                        break;
                    }

                case "Split" when from < 13:
                    {
                        if (node.Ints("split") is { } split)
                        {
                            node.Remove("split");
                            node.Input.Add(Constant(Tensors.Int64Vector("", split)));
                        }

                        nodes.Add(node);
                        break;
                    }

                case "Squeeze" or "Unsqueeze" or "ReduceSum" when from < 13:
                    {
                        if (node.Ints("axes") is { } axes)
                        {
                            node.Remove("axes");
                            node.Input.Add(Constant(Tensors.Int64Vector("", axes)));
                        }

                        nodes.Add(node);
                        break;
                    }

                case "Softmax" or "LogSoftmax" or "Hardmax" when from < 13 && Math.Max(DeclaredRank(upgraded.Graph, node.Input[0]), DeclaredRank(upgraded.Graph, node.Output[0])) == node.Int("axis", 1) + 1:
                    // On a tensor whose last axis is `axis` the old and new semantics agree.
                    nodes.Add(node);
                    break;

                case "Softmax" or "LogSoftmax" or "Hardmax" when from < 13:
                    {
                        // Before opset 13 these ops worked on the input flattened to 2-D at `axis`.
                        var axis = node.Int("axis", 1);
                        var flat = names.Fresh();
                        var soft = names.Fresh();
                        var shape = names.Fresh();
                        nodes.Add(new NodeProto { OpType = "Flatten", Name = node.Name + "/flatten", Input = { node.Input[0] }, Output = { flat }, Attribute = { NodeAttributes.IntAttribute("axis", axis) } });
                        nodes.Add(new NodeProto { OpType = node.OpType, Name = node.Name, Input = { flat }, Output = { soft }, Attribute = { NodeAttributes.IntAttribute("axis", -1) } });
                        nodes.Add(new NodeProto { OpType = "Shape", Name = node.Name + "/shape", Input = { node.Input[0] }, Output = { shape } });
                        nodes.Add(new NodeProto { OpType = "Reshape", Name = node.Name + "/reshape", Input = { soft, shape }, Output = { node.Output[0] } });
                        break;
                    }

                case "ImageScaler":
                    {
                        // Experimental in early opsets: y = scale * x + bias[c].
                        var scale = Constant(Tensors.Float("", [], [node.Float("scale", 1)]));
                        var bias = node.Floats("bias") ?? [];
                        var biasTensor = Constant(Tensors.Float("", [1, bias.Length, 1, 1], bias));
                        var scaled = names.Fresh();
                        nodes.Add(new NodeProto { OpType = "Mul", Name = node.Name + "/scale", Input = { node.Input[0], scale }, Output = { scaled } });
                        nodes.Add(new NodeProto { OpType = "Add", Name = node.Name, Input = { scaled, biasTensor }, Output = { node.Output[0] } });
                        break;
                    }

                case "Crop" or "Scale" or "GRUUnit" or "GivenTensorFill" or "ATen" or "ScaledTanh" or "ParametricSoftplus" or "Affine" or "Scatter":
                    throw new ModelFormatException($"{source}: node '{node.Name}' uses the experimental op {node.OpType}, which later opsets removed; it is not supported.");

                default:
                    nodes.Add(node);
                    break;
            }
        }

        upgraded.Graph.Node.Clear();
        upgraded.Graph.Node.Add(nodes);
        return upgraded;
    }

    /// <summary>The rank a tensor is declared with (value_info, inputs or outputs), or -1 when undeclared.</summary>
    private static long DeclaredRank(GraphProto graph, string tensor)
    {
        var declared = graph.ValueInfo.Concat(graph.Input).Concat(graph.Output).FirstOrDefault(v => v.Name == tensor);
        if (declared?.Type?.TensorType?.Shape is { } shape)
        {
            return shape.Dim.Count;
        }

        // The output of Flatten and Gemm is always 2-D; so is MatMul of 2-D operands, which we cannot see here.
        var producer = graph.Node.FirstOrDefault(n => n.Output.Contains(tensor));
        return producer?.OpType is "Flatten" or "Gemm" ? 2 : -1;
    }
}
