"""Cross-language check: statistics that differ between aligned English and Chinese sentences."""

from __future__ import annotations

import functools
import re
import shutil
from pathlib import Path

import pytest
import yaml

from abstractpipe.document import Alignment, Document, Sentence, SentenceLink, Source
from abstractpipe.extract.crosscheck import WARNING_CODE, CrossLanguageChecker, numbers_agree
from abstractpipe.extract.statistics import StatisticsExtractor
from tests.conftest import REPO, SEEDS, run_in_memory

SEED = next((SEEDS / "pubmed").glob("003_*.txt"))
ZH_START = "背景:"  # the Chinese translation follows the English abstract on the seed page


def _variant(edits: list[tuple[str, str]]) -> str:
    """The seed page with ``edits`` applied to its Chinese part only."""
    text = SEED.read_text(encoding="utf-8")
    cut = text.index(ZH_START)
    zh = text[cut:]
    for old, new in edits:
        assert zh.count(old) == 1, old
        zh = zh.replace(old, new)
    return text[:cut] + zh


VARIANTS: dict[str, list[tuple[str, str]]] = {
    "altered": [("为-0.28", "为-0.38")],
    "missing": [("只有 19.11%的 pwMS", "只有少数 pwMS")],
    "rounded": [("p 值=0.028", "p 值=0.03"), ("19.11%", "19.1%")],
}


@functools.cache
def _run(raw_root: str) -> dict[str, Document]:
    # One folder (= one site) per page, so no page sees another's lines as site furniture.
    return {doc.source.site: doc for doc in run_in_memory(Path(raw_root))}


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Document]:
    raw = tmp_path_factory.mktemp("raw")
    (raw / "seed").mkdir()
    shutil.copy(SEED, raw / "seed" / SEED.name)
    for name, edits in VARIANTS.items():
        (raw / name).mkdir()
        (raw / name / SEED.name).write_text(_variant(edits), encoding="utf-8")
    return _run(str(raw))


def _mismatches(doc: Document) -> list[str]:
    return [w["detail"] for w in doc.warnings if w["code"] == WARNING_CODE]


def _stat(doc: Document, lang: str, measure: str, value: float) -> dict:
    found = [
        s
        for s in doc.fields["statistics"]
        if s["lang"] == lang and s["measure"] == measure and abs(s["value"] - value) < 1e-9
    ]
    assert len(found) == 1, (lang, measure, value)
    return found[0]


def test_seed_statistics_agree_across_languages(docs: dict[str, Document]) -> None:
    doc = docs["seed"]
    assert doc.failure is None
    # Both sides carry the same statistics, aligned: the check has something to compare.
    for lang in ("en", "zh"):
        assert _stat(doc, lang, "WMD", -0.28)["ci_low"] == -0.53
    assert any(link.en and link.zh for link in doc.alignment.sentences)
    assert _mismatches(doc) == []


def test_altered_chinese_value_gives_one_warning_naming_both_spans(docs: dict[str, Document]) -> None:
    doc = docs["altered"]
    details = _mismatches(doc)
    assert len(details) == 1
    detail = details[0]
    en, zh = _stat(doc, "en", "WMD", -0.28), _stat(doc, "zh", "WMD", -0.38)
    assert detail.startswith("WMD: value -0.28 vs -0.38 | ")
    assert f"en {en['start']}-{en['end']} " in detail and f"zh {zh['start']}-{zh['end']} " in detail
    assert doc.text[en["start"] : en["end"]] in detail
    assert doc.text[zh["start"] : zh["end"]] in detail


def test_number_missing_in_chinese_is_reported_with_the_chinese_sentence(docs: dict[str, Document]) -> None:
    doc = docs["missing"]
    details = _mismatches(doc)
    assert len(details) == 1
    en = _stat(doc, "en", "percent", 19.11)
    assert details[0].startswith("percent: value 19.11 only in en | ")
    assert f"en {en['start']}-{en['end']} '19.11 %'" in details[0]
    zh_sentence = next(s for s in doc.sentences_in("zh") if "只有少数" in doc.span(s.start, s.end))
    assert f"zh {zh_sentence.start}-{zh_sentence.end} '磁共振成像" in details[0]


def test_rounding_differences_are_no_mismatch(docs: dict[str, Document]) -> None:
    doc = docs["rounded"]
    assert _stat(doc, "zh", "WMD", -0.28)["p_value"] == 0.03
    assert _stat(doc, "zh", "percent", 19.1)
    assert _mismatches(doc) == []


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        (0.028, 0.03, True),
        (19.11, 19.1, True),
        (19.11, 19.0, True),
        (-0.28, -0.38, False),
        (-0.28, 0.0, False),  # 0 is no rounding of -0.28
        (0.3, -0.3, False),
        (0.028, 0.02, False),
        (1536.0, 1563.0, False),
    ],
)
def test_numbers_agree_up_to_rounding(a: float, b: float, agree: bool) -> None:
    assert numbers_agree(a, b) is agree
    assert numbers_agree(b, a) is agree


# Hand-built documents: sentences, links and the real statistics extractor.

EXTRACTOR = StatisticsExtractor(yaml.safe_load((REPO / "configs" / "statistics.yaml").read_text("utf-8")))


def _doc(en: list[str], zh: list[str], links: list[tuple[list[int], list[int], float]]) -> Document:
    text = " ".join(en) + "\n" + "".join(zh)
    doc = Document(id="x", source=Source(path="x", site="x"), text=text)
    pos = 0
    for lang, parts in (("en", en), ("zh", zh)):
        for part in parts:
            start = text.index(part, pos)
            doc.sentences.append(Sentence(start=start, end=start + len(part), lang=lang))
            pos = start + len(part)
    zh_start = len(" ".join(en)) + 1
    stats = []
    for lang, start, end in (("en", 0, zh_start), ("zh", zh_start, len(text))):
        for stat in EXTRACTOR.find(text[start:end], lang):
            stats.append({**stat, "start": stat["start"] + start, "end": stat["end"] + start, "lang": lang})
    doc.fields["statistics"] = stats
    doc.alignment = Alignment(sentences=[SentenceLink(en=e, zh=z, score=s) for e, z, s in links])
    return doc


EN_OR = "Mortality was lower with treatment (OR 2.1, 95% CI 1.3-3.4, P = 0.002)."


def test_one_to_two_link_pools_the_chinese_sentences() -> None:
    zh = ["治疗组死亡率较低，OR=2.1。", "95%CI为1.3～3.4，P=0.002。"]
    doc = _doc([EN_OR], zh, [([0], [0, 1], 0.8)])
    assert CrossLanguageChecker().check(doc) == []
    # The same split with a wrong upper bound is caught.
    doc = _doc([EN_OR], [zh[0], "95%CI为1.3～4.3，P=0.002。"], [([0], [0, 1], 0.8)])
    details = CrossLanguageChecker().check(doc)
    assert len(details) == 1 and "CI high 3.4" in details[0]
    assert [w["code"] for w in doc.warnings] == [WARNING_CODE]


def test_rephrased_measure_counts_as_present() -> None:
    # The Chinese says "比值" where the English names an odds ratio: the numbers still agree.
    doc = _doc([EN_OR], ["治疗组死亡率较低（比值为2.1，95%CI 1.3～3.4，P=0.002）。"], [([0], [0], 0.8)])
    assert CrossLanguageChecker().check(doc) == []


def test_low_scoring_links_are_not_checked() -> None:
    zh = ["治疗组死亡率较低（OR=2.8，95%CI 1.3～3.4，P=0.002）。"]
    assert CrossLanguageChecker({"min_link_score": 0.35}).check(_doc([EN_OR], zh, [([0], [0], 0.2)])) == []
    details = CrossLanguageChecker({"min_link_score": 0.1}).check(_doc([EN_OR], zh, [([0], [0], 0.2)]))
    assert len(details) == 1 and details[0].startswith("OR: value 2.1 vs 2.8")


def test_loose_p_threshold_on_one_side_is_no_mismatch() -> None:
    en = ["Pain scores fell in both groups (P < 0.05)."]
    assert CrossLanguageChecker().check(_doc(en, ["两组疼痛评分均下降。"], [([0], [0], 0.8)])) == []
    # An exact p-value is a number a reader relies on: dropping it is reported.
    en = ["Pain scores fell in both groups (P = 0.012)."]
    details = CrossLanguageChecker().check(_doc(en, ["两组疼痛评分均下降。"], [([0], [0], 0.8)]))
    assert len(details) == 1 and re.match(r"p: value 0\.012 only in en \| en \d+-\d+ ", details[0])


def test_disabled_check_adds_nothing() -> None:
    doc = _doc([EN_OR], ["治疗组死亡率较低（OR=2.8）。"], [([0], [0], 0.9)])
    assert CrossLanguageChecker({"enabled": False}).check(doc) == []
    assert doc.warnings == []


def test_span_bisection_finds_the_sentences_each_statistic_overlaps() -> None:
    import random

    from abstractpipe.extract.crosscheck import _overlaps, _Spans

    rng = random.Random(13)
    for _ in range(2000):
        sentences: list[Sentence] = []
        pos = rng.randrange(0, 5)
        for _ in range(rng.randrange(0, 8)):
            start = pos + rng.randrange(0, 4)
            pos = start + rng.randrange(0, 6)  # empty sentences too
            sentences.append(Sentence(start, pos, "en"))
        if rng.random() < 0.3:
            rng.shuffle(sentences)  # out of order: the plain test
        spans = _Spans(sentences)
        for _ in range(10):
            start = rng.randrange(0, pos + 3)
            stat = {"start": start, "end": start + rng.randrange(0, 6)}
            expected = [k for k, sentence in enumerate(sentences) if _overlaps(stat, sentence)]
            assert list(spans.overlapping(stat)) == expected, (sentences, stat)
            assert spans.overlaps(stat) == bool(expected)


def test_own_statistics_from_the_inverted_overlaps_match_testing_every_statistic() -> None:
    import random

    from abstractpipe.extract.crosscheck import _overlapped, _overlaps, _own

    rng = random.Random(29)
    for _ in range(1500):
        sentences: dict[str, list[Sentence]] = {}
        pos = 0
        for lang in ("en", "zh"):
            sentences[lang] = []
            for _ in range(rng.randrange(0, 7)):
                start = pos + rng.randrange(0, 4)
                pos = start + rng.randrange(0, 6)  # empty sentences too
                sentences[lang].append(Sentence(start, pos, lang))
            if rng.random() < 0.3:
                rng.shuffle(sentences[lang])  # out of order
        stats = []
        for _ in range(rng.randrange(0, 10)):
            start = rng.randrange(0, pos + 3)
            lang = rng.choice(["en", "zh", "zh", "en", "fr", None])
            stats.append({"start": start, "end": start + rng.randrange(0, 8), "lang": lang})
        stats.sort(key=lambda s: (s["start"], s["end"]))
        if rng.random() < 0.2:
            rng.shuffle(stats)
        overlapped, touching = _overlapped(stats, sentences)
        for stat, entry in zip(stats, overlapped, strict=True):
            if stat["lang"] not in sentences:
                assert entry is None
                continue
            lang = stat["lang"]
            expected = [k for k, s in enumerate(sentences[lang]) if _overlaps(stat, s)]
            assert entry is not None and entry[0] == lang and list(entry[1]) == expected
        for lang, lang_sentences in sentences.items():
            for _ in range(6):
                indices = sorted(
                    rng.sample(range(len(lang_sentences)), rng.randrange(0, len(lang_sentences) + 1))
                )
                chosen = [lang_sentences[i] for i in indices]
                expected_own = [
                    s
                    for s in stats
                    if s["lang"] == lang and any(_overlaps(s, sentence) for sentence in chosen)
                ]
                own = _own(stats, touching[lang], indices)
                assert [id(s) for s in own] == [id(s) for s in expected_own], (lang_sentences, stats, indices)


def test_numbers_agree_rejects_far_numbers_as_the_full_rule_does() -> None:
    """numbers_agree skips reading decimals for numbers more than 0.5 apart: the full rule's
    widest tolerance.  Compared with the full rule on random and boundary pairs."""
    import math
    import random

    from abstractpipe.extract.crosscheck import decimals

    def full_rule(a: float, b: float) -> bool:
        if (a == 0) != (b == 0) or (a < 0) != (b < 0):
            return False
        places = min(decimals(a), decimals(b))
        return abs(a - b) <= 0.5 * 10.0**-places + 1e-9

    rng = random.Random(31)
    pairs = [(1.0, 1.5), (1.0, 0.5), (2.0, 2.5000000009), (2.0, 2.500000002), (3.0, 3.49), (0.5, 1.0)]
    pairs += [(math.inf, math.inf), (math.nan, 1.0), (1e-7, 2e-7), (-0.28, -0.78), (0.0, 0.4)]
    for _ in range(20000):
        a = round(rng.uniform(-3, 3), rng.randrange(0, 5))
        kind = rng.random()
        if kind < 0.4:
            b = round(rng.uniform(-3, 3), rng.randrange(0, 5))
        elif kind < 0.8:
            b = round(a + rng.choice([-1, 1]) * rng.choice([0.5, 0.05, 0.005, 0.49, 0.51, 0.5 + 1e-9]), 10)
        else:
            b = a + rng.choice([-1, 1]) * rng.uniform(0.45, 0.55)
        pairs.append((a, b))
    agreeing = 0
    for a, b in pairs:
        assert numbers_agree(a, b) is full_rule(a, b), (a, b)
        agreeing += full_rule(a, b)
    assert agreeing > 1000
    assert any(full_rule(a, b) and abs(a - b) > 0.4 for a, b in pairs)  # near the widest tolerance
