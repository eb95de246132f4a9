using System.Buffers.Binary;
using System.IO.Compression;
using SeLoRA.Data.Pretraining;
using SeLoRA.Diffusion.Tokenization;
using SeLoRA.TestSupport;
using SeLoRA.Torch;

namespace SeLoRA.Data.Tests.Pretraining;

public sealed class FashionMnistTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("selora-fmnist-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Writes a gzip'd IDX file: magic, dimensions, then <paramref name="dataBytes"/> bytes of data (may be fewer than declared).</summary>
    string WriteIdx(string name, int magic, int[] shape, byte[] data)
    {
        var path = Path.Combine(_folder, name);
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        var word = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, magic);
        gzip.Write(word);
        foreach (var d in shape)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, d);
            gzip.Write(word);
        }
        gzip.Write(data);
        return path;
    }

    (string Images, string Labels) WriteSet(int count, int? imageBytes = null, int imagesMagic = IdxFile.ImagesMagic)
    {
        var pixels = new byte[count * 784];
        for (var i = 0; i < count; i++) pixels.AsSpan(i * 784, 784).Fill((byte)(i % 2 == 0 ? 0 : 255));
        if (count >= 3) pixels[784 * 2 + 5] = 17;
        var images = WriteIdx("train-images-idx3-ubyte.gz", imagesMagic, [count, 28, 28], pixels[..(imageBytes ?? pixels.Length)]);
        var labels = WriteIdx("train-labels-idx1-ubyte.gz", IdxFile.LabelsMagic, [count], Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray());
        return (images, labels);
    }

    [Fact]
    public void Reads_images_labels_and_captions_from_gzipped_idx_files()
    {
        WriteSet(3);
        var set = FashionMnist.Load(_folder, "train");
        Assert.Equal(3, set.Count);
        Assert.Equal([0, 1, 2], Enumerable.Range(0, 3).Select(set.Label));
        Assert.Equal(17, set.Pixels(2)[5]);
        Assert.Equal(255, set.Pixels(1)[700]);
        Assert.Contains("t-shirt", set.Caption(0));
        Assert.Contains("a trouser", set.Caption(1));
        Assert.Equal(2, FashionMnist.Load(_folder, "train", limit: 2).Count);
    }

    [Fact]
    public void Batches_are_upscaled_three_channel_images_in_minus_one_to_one()
    {
        TorchRuntime.EnsureLoaded();
        WriteSet(2);
        var set = FashionMnist.Load(_folder);
        using var batch = set.Batch([1, 0]);
        Assert.Equal([2L, 3, 64, 64], batch.shape);
        // Image 1 is all white, image 0 all black: bilinear upscaling keeps a constant image constant.
        Assert.Equal(1f, batch[0].min().item<float>(), 5);
        Assert.Equal(-1f, batch[1].max().item<float>(), 5);
        Assert.True(batch[0, 0].eq(batch[0, 2]).all().item<bool>());
    }

    [Fact]
    public void A_missing_file_names_the_file_and_the_debian_package()
    {
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(_folder, "t10k"));
        Assert.Contains(Path.Combine(_folder, "t10k-images-idx3-ubyte.gz"), e.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void A_bad_magic_number_names_the_file()
    {
        var (images, _) = WriteSet(2, imagesMagic: IdxFile.LabelsMagic);
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(_folder));
        Assert.StartsWith(images, e.Message);
        Assert.Contains("bad magic number 2049", e.Message);
        Assert.Contains("expected 2051", e.Message);
    }

    [Fact]
    public void A_truncated_file_names_the_file_and_where_it_ends()
    {
        var (images, _) = WriteSet(3, imageBytes: 784 * 2 + 100);
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(_folder));
        Assert.StartsWith(images, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("item 2", e.Message);
        // A header cut short is caught as well.
        using (var gzip = new GZipStream(File.Create(images), CompressionLevel.Fastest)) gzip.Write([0, 0, 8]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => IdxFile.Read(images, IdxFile.ImagesMagic)).Message);
    }

    [Fact]
    public void Labels_must_match_the_images()
    {
        WriteSet(3);
        var labels = WriteIdx("train-labels-idx1-ubyte.gz", IdxFile.LabelsMagic, [2], [0, 1]);
        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(_folder));
        Assert.StartsWith(labels, e.Message);
        Assert.Contains("2 labels for the 3 images", e.Message);
    }

    [Fact]
    public void Captions_are_deterministic_varied_and_use_the_right_article()
    {
        Assert.Equal(10, FashionMnistCaptions.ClassNames.Count);
        Assert.Equal("Ankle boot", FashionMnistCaptions.ClassNames[9]);
        var captions = Enumerable.Range(0, 200).Select(i => FashionMnistCaptions.Caption(9, i)).ToList();
        Assert.Equal(captions, Enumerable.Range(0, 200).Select(i => FashionMnistCaptions.Caption(9, i)));
        Assert.All(captions, c => Assert.Contains("an ankle boot", c));
        Assert.True(captions.Distinct().Count() >= 6, "captions should vary with the index");
        Assert.Contains("a photo of a sneaker", FashionMnistCaptions.All());
        Assert.Contains("a grayscale photo of an ankle boot", FashionMnistCaptions.All());
    }

    [Fact]
    public void The_vocabulary_keeps_caption_and_radiology_words_whole_and_splits_new_words_into_pieces()
    {
        var folder = Path.Combine(_folder, "tokenizer");
        PretrainingVocabulary.Write(folder);
        var tokenizer = ClipTokenizer.FromFolder(folder);
        // Encode adds the start and end tokens.
        int Pieces(string text) => tokenizer.Encode(text).Count - 2;
        Assert.Equal(5, Pieces("a photo of a sneaker"));
        Assert.Equal(1, Pieces("cardiomegaly"));
        Assert.Equal(2, Pieces("pleural effusion"));
        Assert.Equal(4, Pieces("no acute cardiopulmonary abnormality"));
        Assert.Equal(1, Pieces("pneumothorax"));
        // A word outside the corpus falls back to learned pieces, far fewer than its bytes.
        Assert.InRange(Pieces("cardiothoracic"), 2, 6);
        Assert.True(tokenizer.VocabSize < 2000, $"vocabulary of {tokenizer.VocabSize} tokens");
    }

    [Fact]
    public void Reads_the_debian_package_files()
    {
        var images = Path.Combine(FashionMnist.DefaultFolder, "t10k-images-idx3-ubyte.gz");
        Requirements.Require(File.Exists(images), $"{images} is missing: apt-get install {FashionMnist.DebianPackage}");
        var test = FashionMnist.Load(split: "t10k");
        Assert.Equal(10_000, test.Count);
        // The test split has exactly 1,000 images of each class.
        Assert.All(Enumerable.Range(0, test.Count).GroupBy(test.Label), g => Assert.Equal(1000, g.Count()));
        Assert.Equal(60_000, FashionMnist.Load(split: "train").Count);
    }
}
