using SeLoRA.Diffusion.Tokenization;

namespace SeLoRA.Data.Pretraining;

/// <summary>
/// The project's own byte-level BPE vocabulary (CLIP's file format) for the pretrained tiny base: learned from the
/// Fashion-MNIST captions and from chest X-ray report phrases, so the later fine-tuning prompts split into sensible
/// pieces. It never uses SD1.5's vocabulary.
/// </summary>
public static class PretrainingVocabulary
{
    /// <summary>Upper bound on merges; learning stops earlier once every corpus word is one token.</summary>
    public const int DefaultMerges = 1500;

    /// <summary>Phrases of the kind found in chest X-ray reports (IU X-Ray, Montgomery) and their prompts.</summary>
    public static IReadOnlyList<string> RadiologyPhrases { get; } =
    [
        "no acute cardiopulmonary abnormality", "no acute cardiopulmonary disease", "no acute cardiopulmonary process",
        "the heart is normal in size", "heart size is normal", "the heart size and pulmonary vascularity appear within normal limits",
        "cardiomegaly", "mild cardiomegaly", "the cardiomediastinal silhouette is normal", "mediastinal contours are normal",
        "the lungs are clear", "lungs are clear bilaterally", "no focal consolidation", "no focal airspace disease",
        "no pleural effusion", "small left pleural effusion", "right pleural effusion", "no pneumothorax", "small right apical pneumothorax",
        "pulmonary nodule", "calcified granuloma", "a nodule in the left upper lobe", "right lower lobe opacity", "left lower lobe atelectasis",
        "bibasilar atelectasis", "pulmonary edema", "interstitial markings", "hyperinflated lungs consistent with emphysema",
        "chronic obstructive pulmonary disease", "degenerative changes of the thoracic spine", "osseous structures are intact",
        "no displaced rib fractures", "tuberculosis", "abnormal chest x-ray with manifestations of tuberculosis", "normal chest x-ray",
        "frontal and lateral views of the chest", "pa and lateral chest radiograph", "a chest x-ray of a healthy patient",
        "the lung volumes are low", "prominent hilar opacities", "aortic tortuosity", "sternotomy wires", "pacemaker leads in place",
        "diaphragm", "costophrenic angles are sharp", "trachea is midline", "pneumonia", "infiltrate", "scarring", "fibrosis",
        "lung", "lungs", "heart", "chest", "effusion", "nodule", "mass", "opacity", "consolidation",
    ];

    /// <summary>The text the vocabulary is learned from: every caption and every radiology phrase.</summary>
    public static IEnumerable<string> Corpus() => FashionMnistCaptions.All().Concat(RadiologyPhrases);

    /// <summary>Learns the vocabulary and writes vocab.json, merges.txt and the special-token files to <paramref name="folder"/>.</summary>
    public static ClipVocabularyBuilder.Vocabulary Write(string folder, int merges = DefaultMerges)
    {
        var vocabulary = ClipVocabularyBuilder.Learn(Corpus(), merges);
        ClipVocabularyBuilder.WriteFolder(vocabulary, folder);
        return vocabulary;
    }
}
