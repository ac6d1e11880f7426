namespace Microscope.Farm.Storage.Tests;

/// <summary>Store paths use the farm's one id rule: a segment that is not an id never becomes part of a path.</summary>
public sealed class LensPathsTests
{
    [Theory]
    [InlineData("tinynl\n")]
    [InlineData("tiny\r")]
    [InlineData("res\u043det18")]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("a/b")]
    public void A_segment_that_is_not_an_id_is_refused(string model) =>
        Assert.Throws<ArgumentException>(() => LensPaths.Model(model, "00000000deadbeef", "model.onnx"));

    [Theory]
    [InlineData("00000000deadbee\n")]
    [InlineData("00000000DEADBEEF")]
    [InlineData("0000000")]
    public void A_version_that_is_not_lowercase_hex_is_refused(string version) =>
        Assert.Throws<ArgumentException>(() => LensPaths.Model("resnet18", version, "model.onnx"));

    [Fact]
    public void Valid_segments_make_the_documented_path() =>
        Assert.Equal("models/resnet18/00000000deadbeef/model.onnx", LensPaths.Model("resnet18", "00000000deadbeef", "model.onnx"));
}
