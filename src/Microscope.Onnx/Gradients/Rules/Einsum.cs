using Microscope.Onnx.Proto;

namespace Microscope.Onnx.Gradients.Rules;

/// <summary>
/// Einsum: the gradient of an einsum is an einsum. For operand i, dXᵢ = einsum(the other operands,
/// dY → Xᵢ's subscripts): every product term that contains Xᵢ, with Xᵢ left out. Letters that only
/// Xᵢ has (summed away inside it) are absent from that einsum; its result is broadcast back along
/// them. An ellipsis is spelled out with letters at build time (ranks are known). Not supported: a
/// letter repeated within the differentiated operand (a diagonal), and ellipsis axes that broadcast.
/// </summary>
public sealed class EinsumRule : IGradientRule
{
    public IReadOnlyList<string> OpTypes { get; } = ["Einsum"];

    public void Backward(NodeProto node, GradientContext c)
    {
        var equation = EinsumEquation.Parse(node, c);
        var gradient = c.OutputGradient(node)!;
        for (var i = 0; i < node.Input.Count; i++)
        {
            var x = node.Input[i];
            if (!c.IsActive(x))
            {
                continue;
            }

            var own = equation.Inputs[i];
            if (own.Distinct().Count() != own.Length)
            {
                throw new ModelFormatException($"Einsum node '{node.Name}' ('{node.String("equation", "")}') repeats a letter within operand {i}; a diagonal has no gradient rule yet.");
            }

            var others = Enumerable.Range(0, node.Input.Count).Where(j => j != i).ToList();
            var elsewhere = new HashSet<char>(others.SelectMany(j => equation.Inputs[j]).Concat(equation.Output));
            var kept = new string([.. own.Where(elsewhere.Contains)]);
            var terms = string.Join(",", others.Select(j => equation.Inputs[j]).Append(equation.Output));
            var dX = c.Emit("Einsum", [.. others.Select(j => node.Input[j]), gradient], NodeAttributes.StringAttribute("equation", $"{terms}->{kept}"));
            if (kept.Length != own.Length)
            {
                long[] missing = [.. own.Select((letter, axis) => (letter, axis)).Where(p => !elsewhere.Contains(p.letter)).Select(p => (long)p.axis)];
                dX = c.Emit("Expand", [c.Emit("Unsqueeze", [dX, c.Ints(missing)]), c.Shape(x)]);
            }

            c.Accumulate(x, dX);
        }
    }
}

/// <summary>An einsum equation with its ellipses spelled out and its output made explicit.</summary>
internal sealed record EinsumEquation(string[] Inputs, string Output)
{
    public static EinsumEquation Parse(NodeProto node, GradientContext c)
    {
        var text = node.String("equation", "").Replace(" ", "", StringComparison.Ordinal);
        var arrow = text.IndexOf("->", StringComparison.Ordinal);
        var inputs = (arrow < 0 ? text : text[..arrow]).Split(',');
        string? output = arrow < 0 ? null : text[(arrow + 2)..];
        if (inputs.Length != node.Input.Count)
        {
            throw new ModelFormatException($"Einsum node '{node.Name}': the equation '{text}' names {inputs.Length} operands, the node has {node.Input.Count}.");
        }

        // The ellipsis stands for the same broadcast axes in every operand, aligned on the right.
        var free = new Queue<char>("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".Where(l => !text.Contains(l, StringComparison.Ordinal)));
        var ellipsisRanks = inputs.Select((term, i) => term.Contains("...", StringComparison.Ordinal) ? c.Rank(node.Input[i]) - (term.Length - 3) : 0).ToArray();
        var ellipsisRank = ellipsisRanks.DefaultIfEmpty(0).Max();
        var ellipsis = new string([.. Enumerable.Range(0, ellipsisRank).Select(_ => free.Dequeue())]);
        long[]? ellipsisDims = null;
        for (var i = 0; i < inputs.Length; i++)
        {
            var at = inputs[i].IndexOf("...", StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }

            long[] dims = c.ReferenceShape(node.Input[i])[at..(at + ellipsisRanks[i])];
            ellipsisDims ??= dims;
            if (ellipsisRanks[i] != ellipsisRank || !dims.SequenceEqual(ellipsisDims))
            {
                throw new ModelFormatException($"Einsum node '{node.Name}' ('{text}') broadcasts the axes of its ellipsis; that has no gradient rule yet.");
            }

            inputs[i] = inputs[i].Replace("...", ellipsis, StringComparison.Ordinal);
        }

        if (output is null)
        {
            // Implicit output: the ellipsis axes, then the letters used once, in alphabetical order.
            var once = inputs.SelectMany(t => t).Where(l => !ellipsis.Contains(l, StringComparison.Ordinal)).GroupBy(l => l).Where(g => g.Count() == 1).Select(g => g.Key).Order();
            output = ellipsis + new string([.. once]);
        }
        else
        {
            output = output.Replace("...", ellipsis, StringComparison.Ordinal);
        }

        return new EinsumEquation(inputs, output);
    }
}
