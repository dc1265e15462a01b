"""Language stage: script shares, short blocks, langdetect, determinism."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abstractpipe.config import Config
from abstractpipe.document import Block, Document, Source
from abstractpipe.language import LanguageStep, detect_language

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize(
    "text",
    ["Methods", "Key Findings", "Participants", "Study Limitations", "Simple Explanation", "RESULTS"],
)
def test_short_headers_are_english(text: str) -> None:
    lang, confidence = detect_language(text)
    assert lang == "en"
    assert 0.5 <= confidence <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "MSCs 在修复神经组织和减轻 MS 患者(pwMS)的自身免疫反应方面显示出潜力。",
        "采用 ELISA 法检测 IL-6",
        "加权均数差(WMD)为-0.28;95%置信区间(CI)-0.53 至-0.03,I=0%,p 值=0.028);",
        "背景",
        "结论：该研究强调了 MSC 治疗 pwMS 的安全性潜力。",
    ],
)
def test_chinese_with_latin_abbreviations_is_chinese(text: str) -> None:
    lang, confidence = detect_language(text)
    assert lang == "zh"
    assert 0.5 <= confidence <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "2024",
        "12.5 ± 3.4 (n = 30)",
        "https://doi.org/10.1016/j.msard.2024.105681",
        "doi: 10.1016/j.msard.2024.105681",
        "www.example.org/abstracts/2024/003",
        "  ",
    ],
)
def test_numbers_and_identifiers_only_are_other(text: str) -> None:
    assert detect_language(text)[0] == "other"


def test_japanese_kana_is_other() -> None:
    assert detect_language("本研究では、多発性硬化症の患者を対象に治療効果を検討した。")[0] == "other"


def test_korean_is_other() -> None:
    assert detect_language("이 연구는 다발성 경화증 환자를 대상으로 하였다.")[0] == "other"


def test_other_latin_language_is_other() -> None:
    text = "Cette étude a évalué l'efficacité des cellules souches chez les patients atteints de sclérose."
    assert detect_language(text)[0] == "other"


def test_english_sentence_quoting_a_chinese_term_is_english() -> None:
    text = "The term 中医 (traditional Chinese medicine) refers to a system of diagnosis and treatment."
    assert detect_language(text)[0] == "en"


def test_mixed_block_follows_the_dominant_script() -> None:
    chinese_heavy = "目的：探讨间充质干细胞治疗多发性硬化症的疗效和安全性 (efficacy and safety)。"
    english_heavy = "Objective: to review the efficacy and safety of stem cell therapy in MS (目的)."
    assert detect_language(chinese_heavy)[0] == "zh"
    assert detect_language(english_heavy)[0] == "en"


def test_long_english_uses_langdetect_confidently() -> None:
    text = (
        "Current therapeutic strategies for multiple sclerosis aim to suppress the immune response "
        "and reduce relapse rates."
    )
    lang, confidence = detect_language(text)
    assert lang == "en"
    assert confidence > 0.9


def test_results_do_not_depend_on_call_order() -> None:
    texts = [
        "Weighted mean difference was lower in the treated group than in controls.",
        "Front Cell Dev Biol. 2025-2-3",
        "Mult Scler Relat Disord. 2024 Jul;87:105681. Epub 2024 May 11.",
        "Efficacy of mesenchymal stem cells in multiple sclerosis",
        "Cochrane Database Syst Rev. 2013-6-6",
    ]
    forward = [detect_language(t) for t in texts]
    backward = [detect_language(t) for t in reversed(texts)][::-1]
    assert forward == backward


def test_step_tags_every_block_and_counts() -> None:
    text = "Methods\n方法：采用 ELISA 法检测 IL-6。\n10.1016/j.msard.2024.105681"
    doc = Document(id="t", source=Source(path="t.txt", site="."), text=text)
    doc.blocks = [Block(0, 7, kind="heading"), Block(8, 26), Block(27, len(text))]
    config = Config(data={"language": {"rules": "language.yaml"}}, base_dir=CONFIGS)
    step = LanguageStep(config)
    (doc,) = list(step([doc]))
    assert doc.failure is None
    assert [b.lang for b in doc.blocks] == ["en", "zh", "other"]
    assert all(0.0 <= b.lang_confidence <= 1.0 for b in doc.blocks)
    assert step.counters["blocks_en"] == 1
    assert step.counters["blocks_zh"] == 1
    assert step.counters["blocks_other"] == 1


# Speed paths: they must not change what langdetect would have said.

SEEDS = Path(__file__).resolve().parent / "fixtures" / "seeds"

VARIED_TEXTS = [
    "Current therapeutic strategies for multiple sclerosis aim to suppress the immune response.",
    "Cette étude a évalué l'efficacité des cellules souches chez les patients atteints de sclérose.",
    "Diese Studie untersuchte die Wirksamkeit von Stammzellen bei Patienten mit Multipler Sklerose.",
    "Este estudio evaluó la eficacia de las células madre en pacientes con esclerosis múltiple.",
    "Mult Scler Relat Disord. 2024 Jul;87:105681. Epub 2024 May 11. PMID: 38759423",
    "MSCs 在修复神经组织和减轻 MS 患者(pwMS)的自身免疫反应方面显示出潜力。",
    "Tiếng Việt có dấu: nghiên cứu về bệnh đa xơ cứng ở người trưởng thành.",
    "Contact: first.author@example.org or see https://example.org/paper?id=12 for details.",
    "WMD -0.28 (95% CI -0.53 to -0.03); I2 = 0%; p = 0.028; n = 1,204 PwMS; RRMS SPMS PPMS",
    "本研究では、多発性硬化症の患者を対象に治療効果を検討した。",
    "Исследование эффективности стволовых клеток при рассеянном склерозе.",
    "x",
    "!!! ??? ...",
]


def _langdetect_english(text: str) -> float:
    """What the language stage used to ask langdetect, through langdetect itself."""
    from langdetect.lang_detect_exception import LangDetectException

    from abstractpipe.language import _langdetect_factory

    detector = _langdetect_factory().create()
    detector.seed = 0
    detector.append(text)
    try:
        candidates = detector.get_probabilities()
    except LangDetectException:
        return 0.0
    return next((c.prob for c in candidates if c.lang == "en"), 0.0)


def test_fast_langdetect_equals_langdetect_exactly() -> None:
    from abstractpipe.language import FastLangdetect, _ngram_table

    fast = FastLangdetect(_ngram_table())
    lines = [line.strip() for path in sorted(SEEDS.rglob("*.txt")) for line in path.read_text().splitlines()]
    texts = VARIED_TEXTS + [line for line in lines if line][:120]
    assert len(texts) > 60
    for text in texts:
        assert fast.english_probability(text, 0) == _langdetect_english(text), text


def test_texts_judged_together_equal_langdetect_exactly() -> None:
    """Many texts at once go side by side (``_lockstep``); each result is still langdetect's."""
    from abstractpipe.language import LOCKSTEP_MIN_TEXTS, FastLangdetect, _ngram_table

    fast = FastLangdetect(_ngram_table())
    lines = [line.strip() for path in sorted(SEEDS.rglob("*.txt")) for line in path.read_text().splitlines()]
    texts = VARIED_TEXTS + [line for line in lines if line][:60] + ["", "12 34", "a" * 3000, "ab" * 40]
    expected = [_langdetect_english(text) for text in texts]
    assert fast.english_probabilities(texts, 0) == expected
    # the smallest group that goes side by side, and the largest that does not
    for size in (LOCKSTEP_MIN_TEXTS, LOCKSTEP_MIN_TEXTS - 1):
        assert fast.english_probabilities(texts[:size], 0) == expected[:size]


def test_blocks_judged_together_equal_one_at_a_time() -> None:
    from abstractpipe.language import LanguageDetector

    texts = [*VARIED_TEXTS, "Methods", "背景", *VARIED_TEXTS[:4]]
    together = LanguageDetector(_rules()).detect_many(texts)
    assert together == [LanguageDetector(_rules()).detect(t) for t in texts]


@pytest.mark.parametrize(
    "text",
    [
        *VARIED_TEXTS,
        "",
        " ",
        "a",
        "AB CD  EFG hij KLm nOP",
        "  leading and trailing spaces  ",
        "IL-6, TNF-α; MSCs (pwMS) — “quoted” … 中文 and ÉCOLE d’été Ştiinţă ș ț Ạ Ỹ",
        "x\ny\tz\u2003w\u00a0v",
        "ＡＢ ｶﾀｶﾅ カタカナ 한국어 ㄅㄆ",
    ],
)
def test_ngrams_equal_langdetects(text: str) -> None:
    from abstractpipe.language import FastLangdetect, _langdetect_factory, _ngram_table

    detector = _langdetect_factory().create()
    detector.append(text)
    detector.cleaning_text()
    fast = FastLangdetect(_ngram_table())
    prepared = fast._prepare(text)
    assert prepared == detector.text
    assert fast._ngrams(prepared) == detector._extract_ngrams()
    assert fast._ngrams(prepared) == detector._extract_ngrams()  # words now remembered


def test_ngrams_of_random_texts_equal_langdetects() -> None:
    # Runs of capitals (skipped after the first), single capitals, spaces, digits and
    # other scripts: the word-by-word n-grams against langdetect's character loop.
    from abstractpipe.language import FastLangdetect, _langdetect_factory, _ngram_table
    from tests.conftest import random_texts

    pieces = ["a", "e", "th", "A", "B", "IL", "MSC", "Ab", "aB", " ", "  ", "-", "6", "é", "É", "ǅ", "ϒ", "ß"]
    pieces += [
        "中",
        "文",
        "カ",
        "한",
        "α",
        "Ж",
        "ＡＢ",
        "Ş",
        "ţ",
        "Ạ",
        "'",
        ".",
        "\u0130",
        "\u017f",
        "\u212a",
    ]
    fast = FastLangdetect(_ngram_table())
    for text in random_texts(pieces, 1500, seed=11, fewest=0, most=30):
        detector = _langdetect_factory().create()
        detector.append(text)
        detector.cleaning_text()
        # On langdetect's own cleaned text: _prepare counts U+1Exx letters as Latin, where
        # the installed langdetect (comparing a block number with a block name) does not.
        assert fast._ngrams(detector.text) == detector._extract_ngrams(), text


def test_compact_profile_table_holds_langdetects_numbers() -> None:
    import numpy as np

    from abstractpipe.language import _langdetect_factory, _ngram_table

    factory, table = _langdetect_factory(), _ngram_table()
    assert table.languages == factory.langlist
    assert list(table.index) == list(factory.word_lang_prob_map)
    grams = list(factory.word_lang_prob_map)
    for start in range(0, len(grams), 5000):  # every row, in batches
        batch = grams[start : start + 5000]
        expected = np.array([factory.word_lang_prob_map[g] for g in batch])
        assert np.array_equal(table.rows(batch), expected)
    assert table.rows([]).shape == (0, table.width)
    assert np.array_equal(table.rows(["a", "a"])[0], table.rows(["a", "a"])[1])  # repeats are fine


def test_english_by_function_words_does_not_need_langdetect(monkeypatch: pytest.MonkeyPatch) -> None:
    from abstractpipe.language import LanguageDetector

    detector = LanguageDetector(_rules())

    def refuse(texts: list[str], seed: int) -> list[float]:
        raise AssertionError(f"langdetect asked about {texts!r}")

    monkeypatch.setattr(detector.langdetect, "english_probabilities", refuse)
    lang, confidence = detector.detect(
        "The patients who were treated with the drug had fewer relapses than those on placebo."
    )
    assert lang == "en"
    assert confidence > 0.9
    # Too few function words: langdetect is asked.
    with pytest.raises(AssertionError, match="langdetect asked"):
        detector.detect("Mesenchymal stem cell therapy, relapsing multiple sclerosis, randomised trial")


def test_cached_results_equal_fresh_ones() -> None:
    from abstractpipe.language import LanguageDetector

    texts = [*VARIED_TEXTS, "Methods", "背景", "Front Cell Dev Biol. 2025-2-3"]
    cached = LanguageDetector(_rules())
    first = [cached.detect(t) for t in texts]
    again = [cached.detect(t) for t in reversed(texts)][::-1]
    fresh = [LanguageDetector(_rules()).detect(t) for t in texts]
    assert first == again == fresh
    assert len(cached.cache) == len(set(texts))


def _rules() -> dict:
    return Config(data={"language": {"rules": "language.yaml"}}, base_dir=CONFIGS).load_rules("language.yaml")


def test_the_cache_is_bounded_in_characters_too(monkeypatch: pytest.MonkeyPatch) -> None:
    import abstractpipe.language as language

    monkeypatch.setattr(language, "CACHE_CHARS", 100)
    detector = language.LanguageDetector(_rules())
    texts = [f"Patients in group {n} were treated with aspirin for fever." for n in range(10)]
    results = [detector.detect(t) for t in texts * 2]
    assert detector.cached_chars <= 100 and len(detector.cache) <= 2
    assert results == [language.LanguageDetector(_rules()).detect(t) for t in texts * 2]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Plain ASCII text, 12 digits_and_underscores!",
        "MSCs 在修复神经组织 (pwMS) 的自身免疫反应。",
        "本研究では、カタカナ ｶﾀｶﾅ を検討した。",
        "Ａｂｃ fullwidth, Ｚ９, ß, İstanbul, café, cafe\u0301, Ærø, ẞ, ḁ, ǅ, ɐ",
        "digits ٣٤ ５ and letters α β κ Ж 한국어 𠀀 𝔸 \ud800 lone surrogate",
        "× ÷ ± – — “quotes” \u00a0 \u2003 ¼ ² ª º",
    ],
)
def test_script_counts_equal_the_plain_regex_counts(text: str) -> None:
    from abstractpipe.language import ANY_LETTER, HAN, KANA, LATIN_LETTER, ScriptCounts, count_scripts

    expected = ScriptCounts(
        han=len(HAN.findall(text)),
        kana=len(KANA.findall(text)),
        latin=len(LATIN_LETTER.findall(text)),
        letters=len(ANY_LETTER.findall(text)),
    )
    assert count_scripts(text) == expected


IDENTIFIER_SOUP = st.text(
    alphabet="ab.@-_+/:10 9doiDOIpmcsnbPMCSNBhtwHTW\u017f\u212a\u0130\u0131\u0307", max_size=40
)


@settings(max_examples=400, deadline=None)
@given(IDENTIFIER_SOUP)
def test_identifier_patterns_cannot_match_without_their_needs(text: str) -> None:
    from abstractpipe.language import LanguageDetector
    from abstractpipe.patterns import case_blind

    for rule in LanguageDetector(_rules()).identifiers:
        for match in rule.pattern.finditer(text):
            found = match.group()
            assert (not rule.needs and not rule.needs_any_case) or (
                any(literal in found for literal in rule.needs)
                or any(literal in case_blind(found) for literal in rule.needs_any_case)
            ), (rule.pattern.pattern, text)


@pytest.mark.parametrize("letter", "abcdefghijklmnopqrstuvwxyz")
def test_case_blind_lowers_every_character_re_equates_with_an_ascii_letter(letter: str) -> None:
    import re

    from abstractpipe.patterns import case_blind

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    equal = re.findall(f"(?i){letter}", every)
    assert len(equal) >= 2
    assert all(case_blind(c) == letter for c in equal), [hex(ord(c)) for c in equal]
    # and inside a longer non-ASCII text, where case_blind takes its other path
    assert case_blind("é" + "".join(equal)) == "é" + letter * len(equal)


def test_identifiers_are_stripped_with_and_without_the_needs_test() -> None:
    import random

    from abstractpipe.language import LanguageDetector
    from abstractpipe.patterns import PatternRule

    detector = LanguageDetector(_rules())
    assert any(rule.needs_any_case for rule in detector.identifiers)
    plain = [PatternRule(rule.pattern) for rule in detector.identifiers]
    pieces = ["http://", "HTTPS://", "hTtP\u017f://", "www.", "WwW.", "\u0130ssn", "P\u0130", "MID", "pmid"]
    pieces += ["doi", "DO\u0131", "\u017f", "\u212a", "x.org", " ", ": ", "10.1000/x", "a@b.com", "Word", "é"]
    rng = random.Random(7)
    texts = [
        "Contact j.smith@example.org or see doi: 10.1016/j.jad.2020.01.002 (PMID: 123).",
        "Write to press@clinic.example.com, www.clinic.example.com",
        "10.1000/xyz123 is a DOI; 10. is a numbered list item.",
        "See WWW.Example.COM and Https://x.org, ISSN 1234-5678, pmcid: PMC1, İSBN 1, ıssn 2, Doı",
        *[line for path in sorted(SEEDS.rglob("*.txt")) for line in path.read_text().splitlines()],
        *["".join(rng.choices(pieces, k=rng.randint(0, 12))) for _ in range(3000)],
    ]
    for text in texts:
        stripped = detector.strip_identifiers(text)
        detector.identifiers, fast = plain, detector.identifiers
        assert detector.strip_identifiers(text) == stripped, text
        detector.identifiers = fast
    assert "@" not in detector.strip_identifiers(texts[0]) and "10.1016" not in detector.strip_identifiers(
        texts[0]
    )


def test_function_word_share_on_ascii_text_equals_the_word_by_word_lowering() -> None:
    # ASCII text is lowered before its words are found; other text word by word.
    from abstractpipe.language import LATIN_WORD, LanguageDetector
    from tests.conftest import random_texts

    detector = LanguageDetector(_rules())
    pieces = [
        "The ",
        "the",
        "OF",
        "Of ",
        "and",
        "AND ",
        "it's",
        "IT'S",
        "x",
        "Word",
        " ",
        "-",
        "'",
        "l'",
        "ing",
    ]
    pieces += [
        "é",
        "É",
        "\u0130",
        "\u0131",
        "\u017f",
        "\u212a",
        "Is",
        "\u0130s",
        "I\u017f",
        "1",
        ".",
        "\u00df",
    ]
    for text in random_texts(pieces, 3000, seed=5, fewest=1, most=30):
        words = [w.lower() for w in LATIN_WORD.findall(text)]
        share = sum(w in detector.function_words for w in words) / max(len(words), 1)
        if share >= detector.function_word_share:
            expected = "en", round(0.5 + 0.5 * min(1.0, share / detector.typical_function_word_share), 4)
            assert detector._decide_latin(text, 100) == expected, text
        else:
            assert detector._decide_latin(text, 100) == text, text


def test_script_table_holds_what_each_regex_matches_for_every_bmp_character() -> None:
    from abstractpipe.language import SCRIPT_PATTERNS, _bmp_scripts

    table = _bmp_scripts()
    for bit, pattern in enumerate(SCRIPT_PATTERNS):
        matched = [code for code in range(0x10000) if pattern.match(chr(code))]
        assert len(matched) > 0
        assert [int(code) for code in (table & (1 << bit)).nonzero()[0]] == matched, pattern.pattern


def test_script_counts_of_random_texts_equal_the_plain_regex_counts() -> None:
    from abstractpipe.language import ANY_LETTER, HAN, KANA, LATIN_LETTER, ScriptCounts, count_scripts
    from tests.conftest import random_texts

    pieces = [
        "a",
        "Z",
        " ",
        "1",
        "é",
        "Ạ",
        "ａ",
        "Ｚ",
        "中",
        "文",
        "カ",
        "ｶ",
        "한",
        "α",
        "Ж",
        "٣",
        "²",
        "¼",
        "_",
    ]
    pieces += [
        "\u0000",
        "\ud800",
        "\udfff",
        "\U00020000",
        "\U0001d538",
        "\u3400",
        "\uf900",
        "\ufaff",
        "\uffff",
    ]
    for text in random_texts(pieces, 3000, seed=3, fewest=0, most=20):
        expected = ScriptCounts(
            han=len(HAN.findall(text)),
            kana=len(KANA.findall(text)),
            latin=len(LATIN_LETTER.findall(text)),
            letters=len(ANY_LETTER.findall(text)),
        )
        assert count_scripts(text) == expected, text
