using System.Collections;
using System.Reflection;
using SeLoRA.Adapters.Core;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SeLoRA.Adapters.Injection;

/// <summary>
/// Replaces Linear submodules of a model by adapter wrappers, in both places a TorchSharp model holds them: the parent's
/// registered children (so parameters(), state_dict() and to() see the wrapper) and the parent's C# field or list slot
/// (so forward calls the wrapper).
/// </summary>
public static class AdapterInjector
{
    const BindingFlags InstanceFields = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    static readonly FieldInfo SubmodulesField =
        typeof(nn.Module).GetField("_internal_submodules", BindingFlags.Instance | BindingFlags.NonPublic)
        ?? throw new MissingFieldException("TorchSharp's Module no longer has _internal_submodules; AdapterInjector needs updating.");

    /// <summary>
    /// Wraps every Linear whose full dotted name satisfies <paramref name="predicate"/>. Sites are numbered
    /// <paramref name="firstIndex"/>, +1, ... in named_modules() order (which is deterministic), and that number is the
    /// adapter's layer index. Returns the adapters in that order.
    /// </summary>
    public static IReadOnlyList<TAdapter> Inject<TAdapter>(nn.Module root, Func<string, bool> predicate, Func<InjectionSite, TAdapter> factory, int firstIndex = 0)
        where TAdapter : nn.Module<Tensor, Tensor>, IAdapter
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(predicate);
        ArgumentNullException.ThrowIfNull(factory);
        var modules = root.named_modules().ToList();
        var byName = modules.ToDictionary(m => m.name, m => m.module);
        var sites = modules
            .Where(m => m.module is Linear && predicate(m.name))
            .Select((m, i) => new InjectionSite(m.name, (Linear)m.module, firstIndex + i))
            .ToList();
        var adapters = new List<TAdapter>(sites.Count);
        foreach (var site in sites)
        {
            var dot = site.Name.LastIndexOf('.');
            var parentName = dot < 0 ? "" : site.Name[..dot];
            var childName = site.Name[(dot + 1)..];
            var parent = parentName.Length == 0 ? root
                : byName.TryGetValue(parentName, out var p) ? p
                : throw new InvalidOperationException($"Parent module '{parentName}' of '{site.Name}' not found.");
            var adapter = factory(site) ?? throw new InvalidOperationException($"The adapter factory returned null for '{site.Name}'.");
            Replace(parent, childName, site.Layer, adapter, site.Name);
            adapters.Add(adapter);
        }
        return adapters;
    }

    /// <summary>All adapters of type <typeparamref name="TAdapter"/> in a model, in named_modules() order.</summary>
    public static IReadOnlyList<TAdapter> FindAdapters<TAdapter>(nn.Module root) where TAdapter : class, IAdapter
        => root.named_modules().Select(m => m.module).OfType<TAdapter>().ToList();

    /// <summary>
    /// Freezes every parameter of the model except the adapters' trainable ones (loralib's mark_only_lora_as_trainable).
    /// Returns the trainable parameters in named_parameters() order.
    /// </summary>
    public static IReadOnlyList<Parameter> MarkOnlyAdaptersTrainable(nn.Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var adapterParameters = new HashSet<Parameter>(
            FindAdapters<IAdapter>(root).SelectMany(a => a.TrainableParameters()), ReferenceEqualityComparer.Instance);
        var trainable = new List<Parameter>();
        foreach (var (_, p) in root.named_parameters())
        {
            var keep = adapterParameters.Contains(p);
            p.requires_grad = keep;
            if (keep) trainable.Add(p);
        }
        return trainable;
    }

    static void Replace(nn.Module parent, string childName, nn.Module old, nn.Module replacement, string fullName)
    {
        var children = SubmodulesField.GetValue(parent) as TorchSharp.Utils.OrderedDict<string, nn.Module>
                       ?? throw new InvalidOperationException($"Cannot read the registered children of the parent of '{fullName}'.");
        if (!children.TryGetValue(childName, out var registered) || !ReferenceEquals(registered, old))
            throw new InvalidOperationException($"'{fullName}' is not a registered child named '{childName}' of its parent.");

        // Find every field and list slot holding the old layer and check they can hold the wrapper before changing
        // anything, so a failure leaves the model as it was. A parent that reaches the child only through
        // named_children() needs no field update.
        var updates = new List<Action>();
        for (var type = parent.GetType(); type is not null && type != typeof(object); type = type.BaseType)
        {
            foreach (var field in type.GetFields(InstanceFields))
            {
                var value = field.GetValue(parent);
                var where = $"{type.Name}.{field.Name}";
                if (ReferenceEquals(value, old))
                {
                    if (!field.FieldType.IsInstanceOfType(replacement))
                        throw new InvalidOperationException(
                            $"Cannot adapt '{fullName}': field {where} is typed {field.FieldType.Name}; type it Module<Tensor, Tensor> so an adapter can replace it.");
                    updates.Add(() => field.SetValue(parent, replacement));
                }
                else if (value is IList list && value is not nn.Module)
                {
                    for (var i = 0; i < list.Count; i++)
                    {
                        if (!ReferenceEquals(list[i], old)) continue;
                        if (!ElementType(list).IsInstanceOfType(replacement))
                            throw new InvalidOperationException(
                                $"Cannot adapt '{fullName}': the list {where} holds {ElementType(list).Name}; use ModuleList<Module<Tensor, Tensor>>.");
                        var slot = i;
                        updates.Add(() => list[slot] = replacement);
                    }
                }
            }
        }
        // In place, so named_modules() and state_dict() keep their order.
        children[childName] = replacement;
        foreach (var update in updates) update();
    }

    static Type ElementType(IList list)
    {
        if (list is Array array) return array.GetType().GetElementType()!;
        var generic = list.GetType().GetInterfaces()
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IList<>));
        return generic?.GetGenericArguments()[0] ?? typeof(object);
    }
}
