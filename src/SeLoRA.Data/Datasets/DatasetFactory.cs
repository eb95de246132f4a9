namespace SeLoRA.Data.Datasets;

/// <summary>Opens a dataset from a spec string ("iu-xray:/data/iu"); see <see cref="DatasetSpec"/>.</summary>
public static class DatasetFactory
{
    private static readonly ITextImageDatasetReader[] Readers =
    [
        new IuXrayKaggleReader(),
        new IuXrayR2GenReader(),
        new MontgomeryReader(),
        new ImageFolderReader(),
    ];

    public static IReadOnlyList<string> Kinds { get; } = Readers.Select(r => r.Kind).ToArray();

    public static ITextImageDatasetReader Reader(string kind) =>
        Readers.FirstOrDefault(r => r.Kind == kind)
        ?? throw new ArgumentException($"unknown dataset kind '{kind}'; known: {string.Join(", ", Kinds)}.", nameof(kind));

    /// <summary>Parses and opens a spec; the spec's own options override <paramref name="options"/>.</summary>
    public static TextImageDataset Open(string spec, DatasetOptions? options = null) => Open(DatasetSpec.Parse(spec), options);

    public static TextImageDataset Open(DatasetSpec spec, DatasetOptions? options = null) =>
        Reader(spec.Kind).Read(spec.Folder, spec.ApplyTo(options ?? DatasetOptions.Default), spec.ToString());
}
