using System.Globalization;
using System.Text;

namespace Microscope.Farm.Rendering;

/// <summary>
/// An audit trail of actual renders (not skips), one tab-separated line each: time, process id, job,
/// item index, kind, layer, lens, units, machine. A line is written once a render's outputs are all
/// stored; a process killed between its last write and its line leaves stored outputs without one. Fault tests count renders per item from it. Each
/// process appends to a file of its own in the folder, so lines of several processes never
/// interleave; within a process a lock keeps each line one write.
/// </summary>
public sealed class RenderJournal(string folder)
{
    private static readonly Lock Gate = new();

    public string Folder { get; } = folder;

    public string FilePath { get; } = Path.Combine(folder, $"renders-{Environment.ProcessId}.tsv");

    public void Append(WorkItem item)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{DateTimeOffset.UtcNow:O}\t{Environment.ProcessId}\t{item.Job}\t{item.Index}\t{item.Kind}\t{item.Layer}\t{item.Lens}\t{string.Join(",", item.Units)}\t{Environment.MachineName}\n");
        var bytes = Encoding.UTF8.GetBytes(line);
        lock (Gate)
        {
            Directory.CreateDirectory(Folder);

            // Append mode and FileShare.ReadWrite: readers (and, were the file shared, other writers) are never locked out.
            using var file = new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            file.Write(bytes);
        }
    }

    /// <summary>Every line of every process's journal in <paramref name="folder"/>, split into fields.</summary>
    public static IReadOnlyList<string[]> Read(string folder) =>
        Directory.Exists(folder)
            ? [.. Directory.GetFiles(folder, "renders-*.tsv").Order(StringComparer.Ordinal).SelectMany(File.ReadAllLines).Select(l => l.Split('\t'))]
            : [];
}
