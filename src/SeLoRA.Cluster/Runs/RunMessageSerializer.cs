using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace SeLoRA.Cluster.Runs;

/// <summary>
/// Stores run events and snapshots (and carries run commands between nodes) as UTF-8 JSON with the record's type name
/// as manifest, so the journal stays readable with SQL and survives namespace moves. Not Akka's default Newtonsoft
/// serializer, which writes .NET type names into the payload.
/// </summary>
public sealed class RunMessageSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>Akka serializer id; ids up to 100 are Akka's own.</summary>
    public const int Id = 7301;

    /// <summary>Registers the serializer for every <see cref="IRunMessage"/> and for <see cref="RunState"/> snapshots.</summary>
    public static readonly Config Hocon = ConfigurationFactory.ParseString($$"""
        akka.actor {
          serializers { selora-runs = "{{typeof(RunMessageSerializer).FullName}}, {{typeof(RunMessageSerializer).Assembly.GetName().Name}}" }
          serialization-bindings {
            "{{typeof(IRunMessage).FullName}}, {{typeof(IRunMessage).Assembly.GetName().Name}}" = selora-runs
            "{{typeof(RunState).FullName}}, {{typeof(RunState).Assembly.GetName().Name}}" = selora-runs
          }
          serialization-identifiers { "{{typeof(RunMessageSerializer).FullName}}, {{typeof(RunMessageSerializer).Assembly.GetName().Name}}" = {{Id}} }
        }
        """);

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        // Stored, never embedded in a web page: keep quotes and non-ASCII readable in the database.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Manifest (the type's name) to type, over every concrete run message and the state.</summary>
    public static readonly FrozenDictionary<string, Type> Types = typeof(RunMessageSerializer).Assembly.GetTypes()
        .Where(t => t is { IsAbstract: false, IsInterface: false, IsPublic: true } && (typeof(IRunMessage).IsAssignableFrom(t) || t == typeof(RunState)))
        .ToFrozenDictionary(t => t.Name, StringComparer.Ordinal);

    public override int Identifier => Id;

    public override string Manifest(object o)
    {
        var name = o.GetType().Name;
        return Types.TryGetValue(name, out var type) && type == o.GetType()
            ? name
            : throw new ArgumentException($"{nameof(RunMessageSerializer)} does not handle {o.GetType().FullName}.");
    }

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), JsonOptions);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!Types.TryGetValue(manifest, out var type))
            throw new SerializationException($"run message manifest '{manifest}' is unknown; known: {string.Join(", ", Types.Keys.Order(StringComparer.Ordinal))}.");
        try
        {
            return JsonSerializer.Deserialize(bytes, type, JsonOptions)
                   ?? throw new SerializationException($"run message '{manifest}': the payload is JSON null.");
        }
        catch (JsonException e)
        {
            throw new SerializationException($"run message '{manifest}': unreadable payload ({e.Message}).", e);
        }
    }
}
