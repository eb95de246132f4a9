using System.Text.RegularExpressions;
using SeLoRA.Adapters.Reporting;

namespace SeLoRA.Adapters.Tests.Reporting;

public sealed class LayerClassifierTests
{
    [Theory]
    [InlineData("text_model.encoder.layers.0.self_attn.q_proj", ModelComponent.TextEncoder, LayerKind.Q)]
    [InlineData("text_model.encoder.layers.1.self_attn.k_proj", ModelComponent.TextEncoder, LayerKind.K)]
    [InlineData("text_model.encoder.layers.2.self_attn.v_proj", ModelComponent.TextEncoder, LayerKind.V)]
    [InlineData("text_model.encoder.layers.3.self_attn.out_proj", ModelComponent.TextEncoder, LayerKind.Out)]
    [InlineData("text_model.encoder.layers.4.mlp.fc1", ModelComponent.TextEncoder, LayerKind.FF)]
    [InlineData("text_model.encoder.layers.11.mlp.fc2", ModelComponent.TextEncoder, LayerKind.FF)]
    [InlineData("text_model.embeddings.token_embedding", ModelComponent.TextEncoder, LayerKind.Other)]
    [InlineData("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q", ModelComponent.Unet, LayerKind.Q)]
    [InlineData("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k", ModelComponent.Unet, LayerKind.K)]
    [InlineData("mid_block.attentions.0.transformer_blocks.0.attn2.to_v", ModelComponent.Unet, LayerKind.V)]
    [InlineData("up_blocks.3.attentions.2.transformer_blocks.0.attn1.to_out.0", ModelComponent.Unet, LayerKind.Out)]
    [InlineData("up_blocks.1.attentions.0.transformer_blocks.0.ff.net.0.proj", ModelComponent.Unet, LayerKind.FF)]
    [InlineData("up_blocks.1.attentions.0.transformer_blocks.0.ff.net.2", ModelComponent.Unet, LayerKind.FF)]
    [InlineData("down_blocks.3.resnets.1.time_emb_proj", ModelComponent.Unet, LayerKind.Time)]
    [InlineData("time_embedding.linear_1", ModelComponent.Unet, LayerKind.Other)]
    [InlineData("down_blocks.1.attentions.0.proj_in", ModelComponent.Unet, LayerKind.Other)]
    [InlineData("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight", ModelComponent.Unet, LayerKind.Q)]
    [InlineData("text_encoder.text_model.encoder.layers.0.self_attn.k_proj", ModelComponent.TextEncoder, LayerKind.K)]
    [InlineData("base_model.model.text_model.encoder.layers.0.mlp.fc1", ModelComponent.TextEncoder, LayerKind.FF)]
    public void Classifies_component_and_kind(string name, ModelComponent component, LayerKind kind)
    {
        var c = LayerClassifier.Classify(name);
        Assert.Equal(component, c.Component);
        Assert.Equal(kind, c.Kind);
        Assert.Equal(name, c.Name);
    }

    [Fact]
    public void Every_sd15_unet_linear_maps_to_its_kind_and_attention()
    {
        var layers = Sd15Layers.Unet();
        Assert.Equal(32 * 5 + 22 + 2, layers.Count);
        var block = new Regex(@"^(?:(down|up)_blocks\.(\d+)|mid_block)\.(attentions|resnets)\.(\d+)\.");
        var seen = new Dictionary<LayerKind, int>();
        foreach (var (name, _, _) in layers)
        {
            var c = LayerClassifier.Classify(name);
            Assert.Equal(ModelComponent.Unet, c.Component);
            var expected = ExpectedUnetKind(name);
            Assert.True(expected == c.Kind, $"{name}: {c.Kind}, expected {expected}");
            seen[c.Kind] = seen.GetValueOrDefault(c.Kind) + 1;
            var fromKey = LayerClassifier.Classify(name + ".weight"); // the key as the .tsv lists it
            Assert.Equal((c.Kind, c.Position), (fromKey.Kind, fromKey.Position));

            var expectedAttention = name.Contains(".attn1.") ? AttentionRole.Self : name.Contains(".attn2.") ? AttentionRole.Cross : AttentionRole.None;
            Assert.Equal(expectedAttention, c.Attention);
            Assert.Equal(expectedAttention, c.Position.Attention);

            var m = block.Match(name);
            if (!m.Success)
            {
                Assert.Equal("", c.Position.Group); // time_embedding.linear_1/2
                continue;
            }
            var group = m.Groups[1].Success ? $"{m.Groups[1].Value}_blocks.{m.Groups[2].Value}" : "mid_block";
            Assert.Equal(group, c.Position.Group);
            Assert.Equal(m.Groups[1].Success ? int.Parse(m.Groups[2].Value) : null, c.Position.BlockIndex);
            Assert.Equal(m.Groups[3].Value, c.Position.Unit);
            Assert.Equal(int.Parse(m.Groups[4].Value), c.Position.UnitIndex);
            Assert.Equal(name.Contains(".transformer_blocks.0.") ? 0 : null, c.Position.TransformerBlock);
            Assert.True(name.StartsWith(c.Position.Key + ".", StringComparison.Ordinal), $"{c.Position.Key} is not a prefix of {name}");
            // Attention layers share their attn1/attn2 module; ff layers their transformer block's ff; time its resnet.
            var expectedKey = c.Kind switch
            {
                LayerKind.Q or LayerKind.K or LayerKind.V or LayerKind.Out => name[..(name.IndexOf(".attn", StringComparison.Ordinal) + 6)],
                LayerKind.FF => name[..(name.IndexOf(".ff.", StringComparison.Ordinal) + 3)],
                LayerKind.Time => name[..^".time_emb_proj".Length],
                _ => c.Position.Key,
            };
            Assert.Equal(expectedKey, c.Position.Key);
        }
        // SD1.5: 16 transformer blocks x 2 attentions; 22 resnets.
        Assert.Equal(32, seen[LayerKind.Q]);
        Assert.Equal(32, seen[LayerKind.K]);
        Assert.Equal(32, seen[LayerKind.V]);
        Assert.Equal(32, seen[LayerKind.Out]);
        Assert.Equal(32, seen[LayerKind.FF]);
        Assert.Equal(22, seen[LayerKind.Time]);
        Assert.Equal(2, seen[LayerKind.Other]);
    }

    [Fact]
    public void Every_sd15_text_encoder_linear_maps_to_its_layer_and_kind()
    {
        var layers = Sd15Layers.TextEncoder();
        var encoder = new Regex(@"^text_model\.encoder\.layers\.(\d+)\.");
        var count = 0;
        foreach (var (name, _, _) in layers)
        {
            var c = LayerClassifier.Classify(name);
            Assert.Equal(ModelComponent.TextEncoder, c.Component);
            var m = encoder.Match(name);
            if (!m.Success)
            {
                Assert.Equal(LayerKind.Other, c.Kind); // the embeddings
                Assert.Null(c.Position.TextLayer);
                continue;
            }
            count++;
            var layer = int.Parse(m.Groups[1].Value);
            Assert.Equal(layer, c.Position.TextLayer);
            Assert.Equal($"text_model.encoder.layers.{layer}", c.Position.Key);
            Assert.Equal(layer.ToString(), c.Position.Label);
            var expected = name switch
            {
                _ when name.EndsWith(".self_attn.q_proj", StringComparison.Ordinal) => LayerKind.Q,
                _ when name.EndsWith(".self_attn.k_proj", StringComparison.Ordinal) => LayerKind.K,
                _ when name.EndsWith(".self_attn.v_proj", StringComparison.Ordinal) => LayerKind.V,
                _ when name.EndsWith(".self_attn.out_proj", StringComparison.Ordinal) => LayerKind.Out,
                _ when name.EndsWith(".mlp.fc1", StringComparison.Ordinal) || name.EndsWith(".mlp.fc2", StringComparison.Ordinal) => LayerKind.FF,
                _ => LayerKind.Other,
            };
            Assert.Equal(expected, c.Kind);
            Assert.Equal(expected is LayerKind.FF ? AttentionRole.None : AttentionRole.Self, c.Attention);
        }
        Assert.Equal(72, count);
    }

    [Fact]
    public void Positions_sort_in_forward_order()
    {
        var positions = Sd15Layers.Unet()
            .Select(l => LayerClassifier.Classify(l.Name).Position)
            .DistinctBy(p => p.Key)
            .OrderBy(p => Guid.NewGuid()) // the order must come from the names, not the input
            .Order()
            .Select(p => p.Label)
            .ToList();
        string[] expectedStart = ["time_embedding", "d0.r0", "d0.a0.self", "d0.a0.cross", "d0.a0.ff", "d0.r1", "d0.a1.self"];
        Assert.Equal(expectedStart, positions.Take(expectedStart.Length));
        // down 3 has only resnets; mid block is resnet, attention, resnet; up blocks 3 resnets (+ 3 attentions from up 1 on).
        Assert.Equal(["d3.r0", "d3.r1", "mid.r0", "mid.a0.self", "mid.a0.cross", "mid.a0.ff", "mid.r1", "u0.r0", "u0.r1", "u0.r2", "u1.r0", "u1.a0.self"],
            positions.SkipWhile(p => p != "d3.r0").Take(12));
        Assert.Equal("u3.a2.ff", positions[^1]);
        Assert.Equal(1 + 22 + 16 * 3, positions.Count); // "other" layers share their parent module: time_embedding

        var text = Sd15Layers.TextEncoder()
            .Select(l => LayerClassifier.Classify(l.Name).Position)
            .DistinctBy(p => p.Key).Order().Select(p => p.Key).ToList();
        Assert.Equal("text_model.embeddings", text[0]);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"text_model.encoder.layers.{i}"), text.Skip(1));
        // Text encoder positions come before UNet positions.
        Assert.True(LayerClassifier.Classify("text_model.encoder.layers.11.mlp.fc2").Position
            .CompareTo(LayerClassifier.Classify("time_embedding.linear_1").Position) < 0);
    }

    [Fact]
    public void Rejects_an_empty_name() =>
        Assert.Throws<ArgumentException>(() => LayerClassifier.Classify(" "));

    static LayerKind ExpectedUnetKind(string name) => name switch
    {
        _ when name.EndsWith(".to_q", StringComparison.Ordinal) => LayerKind.Q,
        _ when name.EndsWith(".to_k", StringComparison.Ordinal) => LayerKind.K,
        _ when name.EndsWith(".to_v", StringComparison.Ordinal) => LayerKind.V,
        _ when name.EndsWith(".to_out.0", StringComparison.Ordinal) => LayerKind.Out,
        _ when name.EndsWith(".ff.net.0.proj", StringComparison.Ordinal) || name.EndsWith(".ff.net.2", StringComparison.Ordinal) => LayerKind.FF,
        _ when name.EndsWith(".time_emb_proj", StringComparison.Ordinal) => LayerKind.Time,
        _ => LayerKind.Other,
    };
}
