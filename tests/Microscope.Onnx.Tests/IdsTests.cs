namespace Microscope.Onnx.Tests;

public sealed class IdsTests
{
    [Theory]
    [InlineData("Convolution249_Output_0", "Convolution249_Output_0")]
    [InlineData("p2o.Mul.2", "p2o.Mul.2")]
    [InlineData("/layer1/layer1.0/relu/Relu_output_0", "layer1_layer1.0_relu_Relu_output_0")]
    [InlineData("conv:0 weird name", "conv_0_weird_name")]
    [InlineData("a..b", "a_.b")]
    [InlineData("///", "layer")]
    public void Names_become_url_safe_ids(string name, string id)
    {
        Assert.Equal(id, Ids.FromName(name));
        Assert.True(Ids.IsValid(Ids.FromName(name)));
    }

    [Fact]
    public void Long_names_are_cut_to_the_maximum_length()
    {
        var id = Ids.FromName(new string('a', 500));
        Assert.Equal(Ids.MaxLength, id.Length);
        Assert.True(Ids.IsValid(id));
    }

    [Fact]
    public void Duplicates_get_a_numeric_suffix_in_order()
    {
        var taken = new HashSet<string>();
        Assert.Equal("relu", Ids.Unique("relu", taken));
        Assert.Equal("relu-2", Ids.Unique("relu", taken));
        Assert.Equal("relu-3", Ids.Unique("relu", taken));
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("-lead")]
    [InlineData("a..b")]
    [InlineData("with space")]
    [InlineData("%2e%2e")]
    public void Unsafe_ids_are_invalid(string id) => Assert.False(Ids.IsValid(id));

    /// <summary>
    /// The one id rule against what a hostile client sends: control characters anywhere (a trailing
    /// newline passed a "^…$" regex), Unicode look-alikes of allowed characters, empty and over-long values.
    /// </summary>
    [Theory]
    [InlineData("tinynl\n")]
    [InlineData("tinynl\r\n")]
    [InlineData("tiny\nnl")]
    [InlineData("\ntiny")]
    [InlineData("tiny\0")]
    [InlineData("tiny\t")]
    [InlineData("tiny\u007f")]
    [InlineData("tiny\u0085")]
    [InlineData("tiny\u2028")]
    [InlineData("gpu\u200b")]
    [InlineData("\ufefftiny")]
    [InlineData("tiny ")]
    [InlineData(" tiny")]
    [InlineData("res\u043det18")]
    [InlineData("resnet\uff11\uff18")]
    [InlineData("resnet18\u2024onnx")]
    [InlineData("resnet\u2010v2")]
    [InlineData("r\u00e9snet")]
    [InlineData("\u0130d")]
    [InlineData("resnet18\u0338")]
    [InlineData(".a")]
    [InlineData("_a")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("a%0a")]
    [InlineData("a:b")]
    public void Control_characters_and_look_alikes_are_invalid_anywhere(string id) =>
        Assert.False(Ids.IsValid(id), $"'{id}' ({string.Join(" ", id.Select(c => ((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)))}) passed");

    [Fact]
    public void Empty_null_and_over_long_ids_are_invalid_and_the_longest_valid_one_is_not()
    {
        Assert.False(Ids.IsValid(null));
        Assert.False(Ids.IsValid(""));
        Assert.True(Ids.IsValid(new string('a', Ids.MaxLength)));
        Assert.False(Ids.IsValid(new string('a', Ids.MaxLength + 1)));
        Assert.False(Ids.IsValid(new string('a', 100_000)));
        Assert.False(Ids.IsValid(new string('a', Ids.MaxLength) + "\n"));
        Assert.True(Ids.IsValid("resnet18"));
        Assert.True(Ids.IsValid("layer3.1.relu"));
        Assert.True(Ids.IsValid("Relu_20"));
        Assert.True(Ids.IsValid("small-000090-2362"));
    }

    [Fact]
    public void Units_parse_within_the_layer()
    {
        Assert.Equal(0, Ids.ParseUnit("0", "conv1", 64));
        Assert.Equal(63, Ids.ParseUnit("63", "conv1", 64));
        Assert.Contains("has 64 units", Assert.Throws<UnknownLayerException>(() => Ids.ParseUnit("64", "conv1", 64)).Message);
        Assert.Contains("not a unit id", Assert.Throws<UnknownLayerException>(() => Ids.ParseUnit("-1", "conv1", 64)).Message);
        Assert.Contains("not a unit id", Assert.Throws<UnknownLayerException>(() => Ids.ParseUnit("01", "conv1", 64)).Message);
        Assert.Contains("not a unit id", Assert.Throws<UnknownLayerException>(() => Ids.ParseUnit("x", "conv1", 64)).Message);
    }
}
