from __future__ import annotations

import gzip
import itertools
import json
import random
from pathlib import Path

import pytest

from abstractpipe.labeller import (
    LABELS,
    DomainRouter,
    RoutedLabeller,
    SectionLabeller,
    abstract_features,
    default_labeller,
    read_labelled_abstracts,
    score_labels,
    tokenize,
)

from .complexity import growth
from .conftest import REPO, random_texts

SHARED_SECTIONS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "sections"
MODEL = REPO / "src" / "abstractpipe" / "data" / "labeller" / "rct.json.gz"

# A header-less RCT abstract written for this test, in the usual section order.
ABSTRACT = [
    "Chronic low back pain is a leading cause of disability, and exercise programmes are widely recommended.",
    "However, evidence on the effect of supervised walking in older adults remains scarce.",
    "We randomised 120 patients aged 60 years or older with chronic low back pain to a 12-week supervised "
    "walking programme or to usual care.",
    "The primary outcome was disability measured by the Roland-Morris questionnaire at 12 weeks; secondary "
    "outcomes included pain intensity and quality of life.",
    "Analyses were by intention to treat using linear mixed models.",
    "Disability scores improved more in the walking group than in the usual-care group (mean difference -2.1, "
    "95% CI -3.4 to -0.8; p = 0.002).",
    "The odds of a fall during follow-up were lower in the walking group (OR 0.6, 95% CI 0.4 to 0.9).",
    "No serious adverse events were reported in either group (3% vs 4%).",
    "A supervised walking programme reduces disability in older adults with chronic low back pain.",
    "These findings support including walking in routine care, and longer trials are warranted.",
]


# A header-less computer-science abstract written for this test.
CS_ABSTRACT = [
    "Graph neural networks have become the standard tool for learning on relational data.",
    "However, their message passing scales poorly to graphs with millions of nodes.",
    "In this paper, we propose a sampling scheme that bounds the neighbourhood each layer aggregates.",
    "Our algorithm caches node embeddings across mini-batches and refreshes them asynchronously.",
    "We evaluate the approach on three public benchmarks for node classification.",
    "The proposed method trains five times faster than full-batch training while matching its accuracy.",
]


@pytest.fixture(scope="module")
def labeller() -> SectionLabeller:
    return SectionLabeller.load()


def test_shipped_model_is_small_and_loads() -> None:
    # Its load time is a figure of benchmarks/sections.py, not a bound of a test.
    shipped = sorted(MODEL.parent.glob("*.json.gz"))
    assert [path.name for path in shipped] == ["general.json.gz", "rct.json.gz", "router.json.gz"]
    assert sum(path.stat().st_size for path in shipped) < 5_000_000
    assert SectionLabeller.load(MODEL).labels == LABELS
    assert SectionLabeller.load(MODEL.parent / "general.json.gz").labels == LABELS


def test_default_model_is_cached(labeller: SectionLabeller) -> None:
    assert SectionLabeller.load() is labeller


def test_labels_a_realistic_abstract_in_section_order(labeller: SectionLabeller) -> None:
    result = labeller.label(ABSTRACT)
    labels = [label for label, _ in result]
    assert len(labels) == len(ABSTRACT)
    assert labels[0] == "background"
    assert labels[2] == "methods"  # "We randomised 120 patients…"
    assert labels[3] == "methods"
    assert labels[5] == "results"
    assert labels[6] == "results"  # "The odds of … were lower (OR 0.6, 95% CI …)"
    assert labels[-1] == "conclusions"
    order = [LABELS.index(label) for label in labels]
    assert order == sorted(order), labels  # sections never go backwards here
    assert all(0.0 < confidence <= 1.0 for _, confidence in result)


def test_router_tells_clinical_abstracts_from_others() -> None:
    router = default_labeller().router
    assert router.is_clinical(ABSTRACT)
    assert not router.is_clinical(CS_ABSTRACT)
    # a sum over distinct words with math.fsum: the order of the sentences changes nothing
    assert router.score(list(reversed(ABSTRACT))) == router.score(ABSTRACT)
    assert router.score(ABSTRACT + ABSTRACT[:3]) == router.score(ABSTRACT)
    # words the router never saw add nothing: the prior alone
    assert router.score(["qqqq zzzz"]) == router.prior


def test_shipped_labeller_gives_each_abstract_to_its_model() -> None:
    shipped = default_labeller()
    assert default_labeller() is shipped  # loaded once per process
    assert shipped.general is shipped.general  # loaded when first needed, then kept
    assert shipped.clinical is SectionLabeller.load()
    assert shipped.model_for(ABSTRACT) is shipped.clinical
    assert shipped.model_for(CS_ABSTRACT) is shipped.general
    assert shipped.label(ABSTRACT) == shipped.clinical.label(ABSTRACT)
    result = shipped.label(CS_ABSTRACT)
    assert result == shipped.general.label(CS_ABSTRACT)
    labels = [label for label, _ in result]
    assert labels[:4] == ["background", "background", "objective", "methods"]  # "… we propose …"
    assert labels[-1] == "results"
    # the clinical model reads this abstract otherwise (it calls every sentence a conclusion)
    assert [label for label, _ in shipped.clinical.label(CS_ABSTRACT)] != labels
    assert shipped.label([]) == []


def test_router_from_a_file_and_its_format() -> None:
    raw = gzip.compress(
        json.dumps({"format": 1, "prior": -0.5, "words": {"patients": 2.0, "network": -3.0}}).encode()
    )
    router = DomainRouter.from_bytes(raw)
    assert router.is_clinical(["Forty patients were enrolled."])
    assert not router.is_clinical(["A network of forty patients."])  # -0.5 + 2.0 - 3.0
    assert not router.is_clinical(["Nothing known here."])  # the prior decides
    with pytest.raises(ValueError, match="format"):
        DomainRouter.from_bytes(json.dumps({"format": 99, "prior": 0, "words": {}}).encode())
    single = SectionLabeller.load(MODEL)
    loads: list[str] = []

    def load_general() -> SectionLabeller:
        loads.append("general")
        return single

    routed = RoutedLabeller(single, load_general, router)
    assert routed.label(["Forty patients were enrolled."]) == single.label(["Forty patients were enrolled."])
    assert loads == []  # a clinical abstract never loads the general model
    routed.label(["A network of forty patients."])
    routed.label(["A network of forty patients."])
    assert loads == ["general"]  # loaded once, when first needed


def test_predictions_are_deterministic(labeller: SectionLabeller) -> None:
    first = labeller.label(ABSTRACT)
    fresh = SectionLabeller.load(MODEL)
    assert fresh.label(ABSTRACT) == first
    assert labeller.label(list(ABSTRACT)) == first


@pytest.fixture(scope="module")
def weights() -> dict[str, list[float]]:
    data = json.loads(gzip.decompress(MODEL.read_bytes()))
    scale = float(data["scale"])
    return {
        name: [w / scale for w in row] for name, row in zip(data["features"], data["weights"], strict=True)
    }


def scores_by_name(sentences: list[str], weights: dict[str, list[float]]) -> list[list[float]]:
    """The general path: each named feature of ``abstract_features``, in name order, one by one."""
    expected = []
    for features in abstract_features(sentences):
        row = [0.0] * len(LABELS)
        for name in sorted(features):
            if name in weights:
                for k, weight in enumerate(weights[name]):
                    row[k] += features[name] * weight
        expected.append(row)
    return expected


def test_emission_scores_are_the_floats_of_a_python_loop(
    labeller: SectionLabeller, weights: dict[str, list[float]]
) -> None:
    """numpy sums the weights; the floats must be those of adding them one by one in name order."""
    rng = random.Random(3)
    words = [w for sentence in ABSTRACT for w in sentence.split()] + ["unseen-word", "0.05", "(p", "<"]
    abstracts = [ABSTRACT, ABSTRACT[:1], [""], ["x"], ABSTRACT[::-1]]
    abstracts += [
        [" ".join(rng.choices(words, k=rng.randint(0, 30))) for _ in range(rng.randint(1, 12))]
        for _ in range(40)
    ]
    for sentences in abstracts:
        assert labeller.emission_scores(sentences) == scores_by_name(sentences, weights)


# Words and bigrams the model knows, repeated tokens, numbers, cue words, punctuation tokens,
# apostrophes, an underscore (never part of a token), "<none>"-like and odd Unicode text.
PIECES = [
    " the",
    " The",
    " patients",
    " were",
    " randomised",
    " randomly assigned to",
    " we aimed to assess",
    " in conclusion,",
    " these findings suggest",
    " results",
    " 95% CI 1.1 to 2.0",
    " (p < 0.05)",
    " OR 0.6",
    " 12",
    " 3,5",
    " 0·4",
    " %",
    " ±",
    " ≤",
    " [",
    ")",
    ";",
    ":",
    "/",
    " patient's",
    " don’t",
    " snake_case",
    " <none>",
    " <s>",
    " İs",
    " ſtudy",
    " naïve",
    " 研究",
    "  ",
    ".",
    "",
]


def test_emission_scores_by_token_are_those_by_name(
    labeller: SectionLabeller, weights: dict[str, list[float]]
) -> None:
    """The per-token feature tables against the by-name sum, on awkward random texts."""
    texts = random_texts(PIECES, 1200, seed=11, fewest=0, most=25)
    rng = random.Random(12)
    checked = 0
    while texts:
        size = rng.randint(1, 9)
        sentences, texts = texts[:size], texts[size:]
        assert labeller.emission_scores(sentences) == scores_by_name(sentences, weights), sentences
        checked += 1
    assert checked > 150
    assert labeller.emission_scores([]) == []


def test_empty_input(labeller: SectionLabeller) -> None:
    assert labeller.label([]) == []


def test_single_sentence(labeller: SectionLabeller) -> None:
    result = labeller.label(
        ["Patients were randomly assigned to receive either drug A or placebo for six weeks."]
    )
    assert len(result) == 1
    label, confidence = result[0]
    assert label in LABELS
    assert 0.0 < confidence <= 1.0


def test_confidences_are_marginal_probabilities(labeller: SectionLabeller) -> None:
    # The marginals of all labels at one position sum to one, so a chosen label's
    # confidence is at most 1 and, for a clear-cut sentence, well above chance.
    labels_and_confidences = labeller.label(ABSTRACT)
    assert labels_and_confidences[6][1] > 0.5


def test_features_place_sentences_relative_to_anchor_sentences() -> None:
    sentences = [
        "Falls are common in older adults.",
        "The aim of this study was to test a home exercise programme.",
        "Participants were randomly assigned to exercise or usual care.",
        "Falls were fewer with exercise (RR 0.7, 95% CI 0.5 to 0.9).",
        "In conclusion, home exercise prevents falls.",
    ]
    rows = abstract_features(sentences)
    assert [next(name for name in row if name in {"aim=before", "aim=at", "aim=after"}) for row in rows] == [
        "aim=before",
        "aim=at",
        "aim=after",
        "aim=after",
        "aim=after",
    ]
    assert "rand=at" in rows[2] and "rand=before" in rows[1] and "rand=after" in rows[3]
    assert "concl=at" in rows[4] and "concl=before" in rows[3]
    assert "until_stat=none" in rows[4] and "since_stat=0" in rows[4]
    # Without an anchor sentence every sentence says so.
    assert all("aim=none" in row for row in abstract_features(ABSTRACT[:2]))


def test_tokenize_normalises_numbers() -> None:
    assert tokenize("OR 0.6, 95% CI 0·4 to 0.9") == [
        "or",
        "<num>",
        "<num>",
        "%",
        "ci",
        "<num>",
        "to",
        "<num>",
    ]


def test_score_labels() -> None:
    scores = score_labels(["methods", "results", "results"], ["methods", "results", "methods"], LABELS)
    assert scores["methods"] == pytest.approx(2 / 3)
    assert scores["results"] == pytest.approx(2 / 3)
    assert scores["weighted"] == pytest.approx(2 / 3)
    assert scores["accuracy"] == pytest.approx(2 / 3)


@pytest.mark.skipif(not SHARED_SECTIONS.is_dir(), reason="../shared (evaluation data) is absent")
def test_dev_weighted_f1_on_a_subset(labeller: SectionLabeller) -> None:
    gold: list[str] = []
    predicted: list[str] = []
    for _, labels, sentences in itertools.islice(
        read_labelled_abstracts(SHARED_SECTIONS / "ei-rct.dev.txt"), 80
    ):
        gold.extend(label.lower() for label in labels)
        predicted.extend(label for label, _ in labeller.label(sentences))
    assert score_labels(gold, predicted, LABELS)["weighted"] >= 0.90


@pytest.mark.skipif(not SHARED_SECTIONS.is_dir(), reason="../shared (evaluation data) is absent")
def test_computer_science_dev_weighted_f1() -> None:
    """CSAbstruct (computer science): the router sends its abstracts to the general model."""
    mapping = {"background": "background", "objective": "objective", "method": "methods", "result": "results"}
    shipped = default_labeller()
    gold: list[str] = []
    predicted: list[str] = []
    routed_clinical = 0
    abstracts = list(read_labelled_abstracts(SHARED_SECTIONS / "csabstruct.dev.txt"))
    for _, labels, sentences in abstracts:
        routed_clinical += shipped.router.is_clinical(sentences)
        for label, (guess, _) in zip(labels, shipped.label(sentences), strict=True):
            if label in mapping:  # "other" sentences are not scored
                gold.append(mapping[label])
                predicted.append("results" if guess == "conclusions" else guess)
    assert routed_clinical <= len(abstracts) // 20
    assert (
        score_labels(gold, predicted, tuple(mapping.values()))["weighted"] >= 0.60
    )  # .31 with the clinical model


def test_features_are_linear_in_the_abstract_length() -> None:
    """The statistics and anchor features were a scan per sentence: quadratic in long abstracts."""
    pool = [
        "We aimed to assess aspirin.",
        "The OR was 1.5 (95% CI 1.1-2.0; P<0.01).",
        "In conclusion, it helps.",
    ]
    short = [pool[index % 3] for index in range(500)]
    features = abstract_features(short)
    # 8x the sentences: ~8x the work, where a scan per sentence would be 64x.
    assert growth(lambda times: abstract_features(short * times), 1, 8) < 12
    first_stat, middle = features[1], features[250]
    assert first_stat["since_stat=none"] == 1.0 and first_stat["earlier_stats=0"] == 1.0
    assert (
        middle["since_stat=2"] == 1.0 and middle["until_stat=2"] == 1.0 and middle["idx5=6|earlier=2"] == 1.0
    )


def test_cue_searches_of_lower_cased_ascii_are_those_ignoring_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """_Cue searches an ASCII sentence case-sensitively in its lower case: it must find what the
    case-insensitive pattern finds in the sentence itself, and give the same features."""
    import abstractpipe.labeller as labeller_module

    cues = [cue for cue in vars(labeller_module).values() if isinstance(cue, labeller_module._Cue)]
    assert len(cues) >= 10
    pieces = [*PIECES, " WE AIMED TO", " We Sought", " P<0.05", " p =", " 95 % Ci", " CI", " ci)", " In Conclusion",
              " To Conclude", " OVERALL", " Were Randomized", " RANDOMISED TO", " IS", " Has", " MAY", " Was",
              " did", " Our Results Suggest", " The aim of this study was", " Aims Were", " K", " \u212a",
              " ı", " ſ", "To evaluate", " Further Research", " implication", " HR", " Or", " rr", "In Summary",
              "Taken  Together", "Overall", " We Conclude", " These Data Show", " The Findings Indicate",
              " randomly Allocated", " Randomized Into", " We Randomised", " 90% Confidence", " ≤", " P≥"]  # fmt: skip
    texts = [*ABSTRACT, *random_texts(pieces, 3000, seed=17, fewest=0, most=14)]
    ascii_texts = 0
    for text in texts:
        lowered = labeller_module._ascii_lower(text)
        ascii_texts += lowered is not None
        for cue in cues:
            assert cue.found(text, lowered) == (cue.any_case.search(text) is not None), (
                cue.any_case.pattern,
                text,
            )
            assert cue.count(text, lowered) == len(cue.any_case.findall(text)), (cue.any_case.pattern, text)
    assert 500 < ascii_texts < len(texts)
    # Every match holds one of the strings a cue needs (on the lower-cased text).
    with_needs = [cue for cue in cues if cue.needs]
    assert len(with_needs) >= 4
    matched = 0
    for text in texts:
        for cue in with_needs:
            for match in cue.any_case.finditer(text):
                assert any(need in match.group().lower() for need in cue.needs), (cue.any_case.pattern, text)
                matched += 1
    assert matched > 300
    abstracts = [texts[k : k + 7] for k in range(0, len(texts), 7)]
    fast = [abstract_features(sentences) for sentences in abstracts]
    monkeypatch.setattr(labeller_module, "_ascii_lower", lambda text: None)  # every text under (?i)
    assert [abstract_features(sentences) for sentences in abstracts] == fast
