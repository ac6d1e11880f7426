namespace Microscope;

/// <summary>
/// The one rule for every id, tag and name the farm accepts (model, layer, lens, job, silo, tag,
/// dataset, store path segment): 1 to 128 characters of ASCII letters, digits, '.', '_' and '-',
/// starting with a letter or digit, with no "..". Checked character by character, not by a regex:
/// "^…$" also matched a value ending in a newline, which then became a header, a folder name and a
/// job that could never be addressed again. Anything else (control characters, spaces, Unicode
/// look-alikes such as a Cyrillic 'а' or a fullwidth digit, percent escapes) is refused.
/// This file is compiled into Microscope.Onnx (as <c>Ids</c>) and linked into Microscope.Farm.Storage,
/// a leaf project, so that both use the same rule.
/// </summary>
internal static class IdRule
{
    public const int MaxLength = 128;

    public static bool IsValid(string? id)
    {
        if (id is null || id.Length is 0 or > MaxLength || !char.IsAsciiLetterOrDigit(id[0]))
        {
            return false;
        }

        for (var i = 1; i < id.Length; i++)
        {
            var c = id[i];
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' || c == '.' && id[i - 1] != '.'))
            {
                return false;
            }
        }

        return true;
    }
}
