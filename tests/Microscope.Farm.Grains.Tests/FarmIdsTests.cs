namespace Microscope.Farm.Grains.Tests;

public class FarmIdsTests
{
    [Fact]
    public void Keys_are_built_and_parsed_in_one_place()
    {
        Assert.Equal("resnet18/layer3.1.relu/42", FarmIds.Unit("resnet18", "layer3.1.relu", 42));
        Assert.Equal(("resnet18", "layer3.1.relu", 42), FarmIds.ParseUnit("resnet18/layer3.1.relu/42"));
        Assert.Equal(("resnet18", "conv1"), FarmIds.ParseLayer(FarmIds.Layer("resnet18", "conv1")));
    }

    [Theory]
    [InlineData("resnet18/../x/1")]
    [InlineData("resnet18/conv1/01")]
    [InlineData("resnet18/conv1/-1")]
    [InlineData("resnet18/conv1")]
    [InlineData("resnet18/con v1/1")]
    [InlineData("resnet18/conv1/99999999999")]
    public void Malformed_unit_keys_are_refused(string key) => Assert.Throws<FarmInputException>(() => FarmIds.ParseUnit(key));

    [Fact]
    public void Options_hash_is_stable_and_ignores_what_a_lens_does_not_use()
    {
        var options = new LensOptions { Steps = 256, Family = "hue" };
        Assert.Equal(options.For("featurevis").Hash(), new LensOptions { Steps = 256 }.For("featurevis").Hash());
        Assert.NotEqual(options.For("featurevis").Hash(), LensOptions.Default.For("featurevis").Hash());
        Assert.Equal(LensOptions.Default.For("tuning").Hash(), new LensOptions { Steps = 7 }.For("tuning").Hash());
        Assert.Matches("^[0-9a-f]{12}$", options.Hash());

        // Part of every stored lens's name: a change here orphans every stored lens. What was rendered
        // with the true gradient keeps its name; the redirected ReLU gradient (on by default for
        // feature visualization, whose pictures it changes) is appended.
        const string TrueGradient = "steps=512;size=128;seed=1;fourier=True;transforms=True;diversity=4;top=16;dataset=default;family=lines";
        Assert.Equal(TrueGradient + ";reluRedirect=True", LensOptions.Default.Canonical());
        Assert.Equal(TrueGradient + ";reluRedirect=True", LensOptions.Default.For("featurevis").Canonical());
        Assert.Equal(TrueGradient, new LensOptions { ReluRedirect = false }.For("featurevis").Canonical());
        Assert.Equal(TrueGradient, LensOptions.Default.For("caricature").Canonical());
        Assert.Equal(LensOptions.Default.For("deepdream").Hash(), new LensOptions { ReluRedirect = false }.For("deepdream").Hash());
        Assert.Equal(LensOptions.Default.For("tuning").Hash(), new LensOptions { ReluRedirect = false }.For("tuning").Hash());
    }

    [Fact]
    public void Quoted_input_cannot_break_a_message_or_log_line()
    {
        var error = Assert.Throws<FarmInputException>(() => FarmIds.Check("tinynl\n", "model"));
        Assert.StartsWith("'tinynl\\u000a' is not a valid model id", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Equal("gpu\\u200b", FarmIds.Shorten("gpu\u200b"));
        Assert.Equal(new string('x', 80) + "…", FarmIds.Shorten(new string('x', 500)));
    }
}
