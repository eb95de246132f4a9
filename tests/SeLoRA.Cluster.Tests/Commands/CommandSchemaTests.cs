using SeLoRA.Cluster.Commands;

namespace SeLoRA.Cluster.Tests.Commands;

public sealed class CommandSchemaTests
{
    static readonly CommandSchema Schema = new([new TestPalette().Spec]);

    [Fact]
    public void Long_short_inline_switch_repeatable_and_positional_forms_parse()
    {
        var a = Schema.Resolve("test", "echo", ["-a", "x:1", "--force", "--tag=one", "-t", "two", "run-7"]);
        Assert.Equal("x:1", a.Get("address"));
        Assert.True(a.Has("force"));
        Assert.Equal(["one", "two"], a.GetAll("tag"));
        Assert.Equal("run-7", a.Get("run"));

        var b = Schema.Resolve("test", "echo", ["--address", "y", "--", "-odd-run"]);
        Assert.False(b.Has("force"));
        Assert.Empty(b.GetAll("tag"));
        Assert.Equal("-odd-run", b.Get("run"));

        var c = Schema.Resolve("test", "count", ["-n", "-5"]);
        Assert.Equal("-5", c.Get("n"));
        Assert.Equal("0", c.Get("delay-ms"));
    }

    [Theory]
    [InlineData("nope", "x", CommandErrorKind.UnknownPalette, "nope")]
    [InlineData("test", "nope", CommandErrorKind.UnknownCommand, "nope")]
    [InlineData("test", "count", CommandErrorKind.BadArguments, "--n/-n")]
    [InlineData("test", "count -n", CommandErrorKind.BadArguments, "needs a value")]
    [InlineData("test", "count -n 1 --bogus 2", CommandErrorKind.BadArguments, "--bogus")]
    [InlineData("test", "count -n 1 -n 2", CommandErrorKind.BadArguments, "given twice")]
    [InlineData("test", "count -n 1 extra", CommandErrorKind.BadArguments, "extra")]
    [InlineData("test", "echo -a x --force=yes", CommandErrorKind.BadArguments, "--force")]
    [InlineData("test", "echo -a x one two", CommandErrorKind.BadArguments, "two")]
    public void Errors_have_the_right_kind_and_name_the_culprit(string palette, string line, CommandErrorKind kind, string named)
    {
        var words = line.Split(' ');
        var e = Assert.Throws<CommandException>(() => Schema.Resolve(palette, words[0], words[1..]));
        Assert.Equal(kind, e.Kind);
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void Bad_specs_are_refused_at_registration()
    {
        Assert.Throws<ArgumentException>(() => CommandSchema.Validate(new PaletteSpec("Bad Name", "", [])));
        Assert.Throws<ArgumentException>(() => CommandSchema.Validate(new PaletteSpec("help", "", [])));
        Assert.Throws<ArgumentException>(() => CommandSchema.Validate(new PaletteSpec("p", "", [new CommandSpec("c", "", []), new CommandSpec("c", "", [])])));
        Assert.Throws<ArgumentException>(() => CommandSchema.Validate(new PaletteSpec("p", "", [new CommandSpec("c", "",
            [new CommandArgumentSpec("a", "-a", "")])])));
        Assert.Throws<ArgumentException>(() => CommandSchema.Validate(new PaletteSpec("p", "", [new CommandSpec("c", "",
            [new CommandArgumentSpec("a", null, "", Positional: true, Repeatable: true), new CommandArgumentSpec("b", null, "", Positional: true)])])));
        Assert.Equal("test echo -a|--address <address> [-f|--force] [-t|--tag <tag> ...] [<run>]", CommandSchema.Usage("test", Schema.FindPalette("test")!.Commands[3]));
    }
}
