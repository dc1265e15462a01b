"""Sentences stage: English and Chinese boundary rules, sections, blocks."""

from __future__ import annotations

import json
import re
from itertools import pairwise
from pathlib import Path

import pytest

from abstractpipe.config import Config
from abstractpipe.document import Block, Document, Section, Source
from abstractpipe.sentences import SentenceSplitter, SentencesStep, split_sentences
from tests.conftest import random_texts

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def split(text: str, lang: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text, lang)]


def run_step(doc: Document) -> Document:
    config = Config(data={"sentences": {"rules": "sentences.yaml"}}, base_dir=CONFIGS)
    (doc,) = list(SentencesStep(config)([doc]))
    assert doc.failure is None
    return doc


# English


def test_english_abbreviations_do_not_end_sentences() -> None:
    text = (
        "Smith et al. reported lower scores vs. placebo (Fig. 2). "
        "Several outcomes, i.e., pain and function, e.g. grip strength, improved. "
        "Dr. Wang enrolled patients in Jan. 2020 in the U.S. and the U.K. for approx. 3 months."
    )
    assert split(text, "en") == [
        "Smith et al. reported lower scores vs. placebo (Fig. 2).",
        "Several outcomes, i.e., pain and function, e.g. grip strength, improved.",
        "Dr. Wang enrolled patients in Jan. 2020 in the U.S. and the U.K. for approx. 3 months.",
    ]


def test_english_decimals_and_confidence_intervals() -> None:
    text = "The odds ratio was 2.1, 95% CI 1.2–3.4. Next, significance was p < .05 and p = 0.028 overall."
    assert split(text, "en") == [
        "The odds ratio was 2.1, 95% CI 1.2–3.4.",
        "Next, significance was p < .05 and p = 0.028 overall.",
    ]


def test_english_lower_case_continuation_and_capitalised_abbreviation() -> None:
    # "MS." is multiple sclerosis, not "Ms.": it ends the sentence; "etc. and" does not.
    text = "We studied fatigue, pain, etc. and mood. Participants had MS. The trial ran for 2 years."
    assert split(text, "en") == [
        "We studied fatigue, pain, etc. and mood.",
        "Participants had MS.",
        "The trial ran for 2 years.",
    ]


def test_english_no_split_inside_parentheses_unless_a_full_sentence() -> None:
    text = (
        "Scores fell (mean change -0.28. Range -0.5 to 0.1) in the treated group. "
        "(See Table 2 for details.) Adverse events were rare."
    )
    assert split(text, "en") == [
        "Scores fell (mean change -0.28. Range -0.5 to 0.1) in the treated group.",
        "(See Table 2 for details.)",
        "Adverse events were rare.",
    ]


def test_english_stray_closing_bracket_does_not_block_splitting() -> None:
    text = (
        "Weighted mean difference (WMD) was -0.28; 95 % CI -0.53 to -0.03, p-value = 0.028); however, "
        "the IV group did not change. The annualized relapse rate did not decrease."
    )
    assert len(split(text, "en")) == 2


def test_english_numbered_citation_after_a_stop_ends_the_sentence() -> None:
    # spaCy glues "30%.[5" into one token: the stop was never seen and two sentences became one.
    assert split("Pain fell by 30%.[5] Further trials are needed.", "en") == [
        "Pain fell by 30%.[5]",
        "Further trials are needed.",
    ]
    assert split("Drugs were used.[3,4] Others were not. It was done. [12-14] Then it ended.", "en") == [
        "Drugs were used.[3,4]",
        "Others were not.",
        "It was done. [12-14]",
        "Then it ended.",
    ]
    # Not a citation, or a continuation: no change.
    assert split("It rose.[5] and fell. See [a] Next.", "en") == ["It rose.[5] and fell.", "See [a] Next."]


def test_english_initials_of_a_name_do_not_end_sentences() -> None:
    assert split(
        "J. Smith and K. L. Wong designed it. Data were checked by W. M. Chen. All agreed.", "en"
    ) == [
        "J. Smith and K. L. Wong designed it.",
        "Data were checked by W. M. Chen.",
        "All agreed.",
    ]
    # A lone capital after a word still ends its sentence.
    assert split("Risk was higher in group A. Group B had fewer events.", "en") == [
        "Risk was higher in group A.",
        "Group B had fewer events.",
    ]


def test_english_list_items_are_sentences() -> None:
    text = "Key findings:\n1. Pain improved. Function did too.\n2. No serious events\n• Costs were lower"
    assert split(text, "en") == [
        "Key findings:",
        "1. Pain improved.",
        "Function did too.",
        "2. No serious events",
        "• Costs were lower",
    ]


def test_question_and_exclamation_marks_end_sentences() -> None:
    assert split("Does it work? Yes! It does.", "en") == ["Does it work?", "Yes!", "It does."]


# Chinese


def test_chinese_stops_keep_closing_quotes_and_brackets() -> None:
    text = "他说：“疗效很好。”随后进行了随访（共 12 个月）。患者满意吗？是的！"
    assert split(text, "zh") == [
        "他说：“疗效很好。”",
        "随后进行了随访（共 12 个月）。",
        "患者满意吗？",
        "是的！",
    ]


def test_chinese_semicolons_ellipsis_and_decimals() -> None:
    text = "加权均数差为-0.28；95%置信区间为-0.53 至-0.03,p 值=0.028;然后……结果稳定。"
    assert split(text, "zh") == [
        "加权均数差为-0.28；",
        "95%置信区间为-0.53 至-0.03,p 值=0.028;",
        "然后……",
        "结果稳定。",
    ]


def test_chinese_no_split_inside_matched_brackets() -> None:
    text = "pwMS 的年复发率没有显著降低(WMD=-0.34;95%CI-1.05 至 0.38,p 值=0.357)。磁共振成像显示有利结果。"
    assert split(text, "zh") == [
        "pwMS 的年复发率没有显著降低(WMD=-0.34;95%CI-1.05 至 0.38,p 值=0.357)。",
        "磁共振成像显示有利结果。",
    ]


def test_chinese_ascii_period_after_han_ends_but_decimal_does_not() -> None:
    text = "有效率为 85.5%,差异有统计学意义.不良反应较少"
    assert split(text, "zh") == ["有效率为 85.5%,差异有统计学意义.", "不良反应较少"]


def test_chinese_ascii_period_after_a_unit_or_percent_before_chinese_ends() -> None:
    assert split("治疗后HbA1c降低了1.2%. 体重也下降。血糖为5.6 mmol/L. 差异显著。", "zh") == [
        "治疗后HbA1c降低了1.2%.",
        "体重也下降。",
        "血糖为5.6 mmol/L.",
        "差异显著。",
    ]
    # An English abbreviation, a list number, a reference's type or a glued period does not.
    for text in (
        "Smith et al. 报道了类似结果。",
        "1. 价格有空间。",
        "见文献[J]. 中华医学杂志。",
        "Feat.金锺国",
    ):
        assert split(text, "zh") == [text]


def test_spans_are_trimmed_and_never_empty() -> None:
    text = "  First sentence.   Second one.  \n\n  "
    spans = split_sentences(text, "en")
    assert [text[a:b] for a, b in spans] == ["First sentence.", "Second one."]
    assert split_sentences("   ", "zh") == []


# The step


def make_doc(text: str) -> Document:
    doc = Document(id="t", source=Source(path="t.txt", site="."), text=text)
    position = 0
    for line in text.split("\n"):
        if line.strip():
            doc.blocks.append(Block(position, position + len(line)))
        position += len(line) + 1
    return doc


def test_step_splits_only_section_bodies_and_keeps_keys() -> None:
    text = (
        "Title of the study\n"
        "BACKGROUND: Relapse rates are high. Treatment is limited. OBJECTIVE: This review asks why.\n"
        "背景：复发率很高。治疗有限。\n"
        "doi: 10.1000/xyz"
    )
    doc = make_doc(text)
    langs = ["en", "en", "zh", "other"]
    for block, lang in zip(doc.blocks, langs, strict=True):
        block.lang = lang
    en_line = text.index("BACKGROUND")
    objective = text.index("OBJECTIVE: ")
    zh_line = text.index("背景")
    doc.sections = [
        Section("en", "background", en_line + len("BACKGROUND: "), objective - 1, "BACKGROUND"),
        Section("en", "objective", objective + len("OBJECTIVE: "), text.index("\n背景"), "OBJECTIVE"),
        Section("zh", "background", zh_line + 3, text.index("\ndoi"), "背景"),
    ]
    doc = run_step(doc)
    got = [(doc.span(s.start, s.end), s.lang, s.section, s.block) for s in doc.sentences]
    assert got == [
        ("Title of the study", "en", None, 0),
        ("Relapse rates are high.", "en", "background", 1),
        ("Treatment is limited.", "en", "background", 1),
        ("This review asks why.", "en", "objective", 1),
        ("复发率很高。", "zh", "background", 2),
        ("治疗有限。", "zh", "background", 2),
        ("doi: 10.1000/xyz", "other", None, 3),
    ]
    # The header text between two sections belongs to no sentence.
    assert not any(s.start <= objective < s.end for s in doc.sentences)


def test_step_splits_what_follows_the_last_section_of_a_block() -> None:
    # A stop label ends the abstract inside its block: the registration line was in no
    # sentence at all, though it is text of the page.
    text = "RESULTS: Pain fell. CONCLUSIONS: It works. TRIAL REGISTRATION: NCT01234567.\n结论：有效。试验注册：NCT01234567。"
    doc = make_doc(text)
    for block, lang in zip(doc.blocks, ["en", "zh"], strict=True):
        block.lang = lang
    conclusions = text.index("CONCLUSIONS: ")
    zh_line = text.index("结论")
    doc.sections = [
        Section("en", "results", len("RESULTS: "), conclusions - 1, "RESULTS"),
        Section("en", "conclusions", conclusions + len("CONCLUSIONS: "), text.index(" TRIAL"), "CONCLUSIONS"),
        Section("zh", "conclusions", zh_line + 3, text.index("试验注册"), "结论"),
    ]
    doc = run_step(doc)
    got = [(doc.span(s.start, s.end), s.lang, s.section) for s in doc.sentences]
    assert got == [
        ("Pain fell.", "en", "results"),
        ("It works.", "en", "conclusions"),
        ("TRIAL REGISTRATION: NCT01234567.", "en", None),
        ("有效。", "zh", "conclusions"),
        ("试验注册：NCT01234567。", "zh", None),
    ]


def test_step_keeps_a_keywords_line_whole_in_both_languages() -> None:
    text = "Key words: Pneumonia; Procalcitonin; Aged; Prognosis\n关键词：肺炎；降钙素原；老年人；预后"
    doc = make_doc(text)
    for block, lang in zip(doc.blocks, ["en", "zh"], strict=True):
        block.lang = lang
    doc.sections = [
        Section("en", "keywords", len("Key words: "), text.index("\n"), "Key words"),
        Section("zh", "keywords", text.index("肺炎"), len(text), "关键词"),
    ]
    doc = run_step(doc)
    assert [(doc.span(s.start, s.end), s.section) for s in doc.sentences] == [
        ("Pneumonia; Procalcitonin; Aged; Prognosis", "keywords"),
        ("肺炎；降钙素原；老年人；预后", "keywords"),
    ]


def test_step_never_crosses_block_boundaries() -> None:
    text = "The first block has no period\nand the second block continues it."
    doc = make_doc(text)
    for block in doc.blocks:
        block.lang = "en"
    doc = run_step(doc)
    assert [s.block for s in doc.sentences] == [0, 1]
    assert [doc.span(s.start, s.end) for s in doc.sentences] == [
        "The first block has no period",
        "and the second block continues it.",
    ]


def test_step_on_pubmed_seed_sentences_stay_inside_their_blocks() -> None:
    seed = next((Path(__file__).parent / "fixtures" / "seeds" / "pubmed").glob("003_*.txt"))
    doc = make_doc(seed.read_text(encoding="utf-8"))
    for block in doc.blocks:
        block.lang = "zh" if "。" in doc.block_text(block) else "en"
    doc = run_step(doc)
    for sentence in doc.sentences:
        block = doc.blocks[sentence.block]
        assert block.start <= sentence.start < sentence.end <= block.end
        assert doc.span(sentence.start, sentence.end).strip() == doc.span(sentence.start, sentence.end)
    zh = [doc.span(s.start, s.end) for s in doc.sentences_in("zh")]
    assert "加权均数差(WMD)为-0.28;" in zh
    assert all(not text.startswith(("。", "；")) for text in zh)
    starts = [s.start for s in doc.sentences]
    assert starts == sorted(starts)


def test_no_split_inside_inline_maths_or_dois() -> None:
    text = (
        "The operation took $1 4 0 { \\pm } 2 3 . 7$ min on average. "
        "See doi: 10.1016/j.msard.2024.105681. Epub 2024 May 11."
    )
    assert split(text, "en") == [
        "The operation took $1 4 0 { \\pm } 2 3 . 7$ min on average.",
        "See doi: 10.1016/j.msard.2024.105681.",
        "Epub 2024 May 11.",
    ]
    assert split("平均手术时间 $1 4 0 { \\pm } 2 3 . 7$ 分。结束。", "zh") == [
        "平均手术时间 $1 4 0 { \\pm } 2 3 . 7$ 分。",
        "结束。",
    ]


SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.mark.skipif(not (SHARED / "eval" / "pages" / "chinaxiv").is_dir(), reason="shared eval data absent")
def test_real_bilingual_preprints_split_into_clean_ordered_spans() -> None:
    pages = sorted((SHARED / "eval" / "pages" / "chinaxiv").glob("*.txt"))[:10]
    assert pages
    for page in pages:
        for paragraph in page.read_text(encoding="utf-8").split("\n\n")[:40]:
            for lang in ("en", "zh"):
                spans = split_sentences(paragraph, lang)
                assert all(a < b for a, b in spans)
                assert all(b1 <= a2 for (_, b1), (a2, _) in pairwise(spans))
                assert all(paragraph[a:b] == paragraph[a:b].strip() for a, b in spans)


# The fast English path (chunks tokenised once, opaque chunks kept whole) must
# give exactly the spans of tokenising the whole text with spaCy.

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_PAGES = Path(__file__).resolve().parents[2] / "shared" / "eval" / "pages" / "chinaxiv"

TRICKY_ENGLISH = [
    "Smith et al.'s trial (n = 40; see Fig. 2a.) ended early.  The U.S.-based arm, i.e. site 3, stopped.",
    'He said "it works." Then he left! Did he? Yes... "Really?" (Quite.) [See ref. 12.] End.',
    "Values were 1.2-3.4 (95% CI 0.9–1.5).It rose.Next came etc. and more; approx. 3 mo. Dr. A. B. Chen.",
    "((nested (brackets. Here) and) stray) closers)) end. A. b. C. 1. 2) iv. Done.\n\n- item one. item two\n",
    "Patients’ scores—measured twice—fell.” Then: see https://doi.org/10.1000/x.y. and $a . b$ too.",
    "MS. NO. ST. Ms. No. St. vs.placebo e.g.,these Fig.3 pp.12–14 Jan.2020 Eq.(4) …and then… Fin.",
    "\u00a0Non-breaking\u00a0spaces. And\ttabs.\u2003Em spaces! Line\nbreaks? ok.",
    "Pain fell by 30%.[5] Further work.[3,4] Then more. [12-14] Done.[a] Next.(5) And [6]. End.",
    "J. Smith and K. L. Wong met W. M. Keck. Group A. Group B. A. B. C. End.",
]


def _corpus() -> list[str]:
    texts = list(TRICKY_ENGLISH)
    texts += [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.rglob("*.txt"))]
    for line in (FIXTURES / "statistics" / "dev.en.jsonl").read_text(encoding="utf-8").splitlines()[:200]:
        texts.append(json.loads(line)["text"])
    if SHARED_PAGES.is_dir():
        texts += [p.read_text(encoding="utf-8") for p in sorted(SHARED_PAGES.glob("*.txt"))[:8]]
    return texts


def test_fast_english_path_gives_the_spans_of_whole_text_spacy() -> None:
    rules = Config(data={}, base_dir=CONFIGS).load_rules("sentences.yaml")
    fast = SentenceSplitter(rules)
    reference = SentenceSplitter(rules)
    reference.use_spacy_for_whole_text = True
    texts = _corpus()
    assert len(texts) >= 20  # the fixtures alone; ../shared adds real preprints when present
    prepared = SentenceSplitter(rules)
    prepared.prepare(texts)  # every chunk tokenised in one spaCy call
    assert len(prepared.chunk_tokens) > 1000
    for text in texts:
        for lang in ("en", "other"):
            expected = reference.split(text, lang)
            assert fast.split(text, lang) == expected, text[:200]
            assert prepared.split(text, lang) == expected, text[:200]


def test_chunks_tokenised_together_get_their_tokens_alone() -> None:
    from abstractpipe.sentences import english_tokenizer

    rules = Config(data={}, base_dir=CONFIGS).load_rules("sentences.yaml")
    splitter = SentenceSplitter(rules)
    tokenizer = english_tokenizer().tokenizer
    # spaCy's special cases (":)", "a.m.", "'s", "n't", "C++" ...) glued to the
    # ends of chunks: the one place where its cuts could look across chunks.
    specials = sorted(key for key in tokenizer.rules if key.strip())
    chunks = [f"{a}{b}." for a, b in zip(specials, reversed(specials), strict=True)]
    chunks += [f"({a}" for a in specials] + [f"{a})" for a in specials] + [f"x.{a}" for a in specials]
    chunks += [c for text in TRICKY_ENGLISH for c in text.split()]
    splitter.prepare([" ".join(chunks)])
    tokenised = {c: p for c, p in splitter.chunk_tokens.items() if c in set(chunks)}
    assert len(tokenised) > len(specials)
    alone = SentenceSplitter(rules)  # one chunk at a time, as english_tokens does on a miss
    for chunk, pieces in tokenised.items():
        # the full English pipeline's tokens: lexical attributes never change a cut
        assert pieces == tuple((t.idx, t.idx + len(t.text)) for t in tokenizer(chunk)), chunk
        alone.english_tokens(chunk, 0, len(chunk))
        assert alone.chunk_tokens[chunk] == pieces, chunk


def test_fast_english_tokens_equal_spacy_tokens_where_the_rules_look() -> None:
    rules = Config(data={}, base_dir=CONFIGS).load_rules("sentences.yaml")
    splitter = SentenceSplitter(rules)
    text = TRICKY_ENGLISH[1]
    starts, ends, words = splitter.english_tokens(text, 0, len(text))
    assert [text[a:b] for a, b in zip(starts, ends, strict=True)] == words
    # Chunks with a period, terminator or bracket are spaCy's tokens...
    assert words[:7] == ['He said "it', "works", ".", '"', "Then he", "left", "!"]
    assert words[-13:] == ["(", "Quite", ".", ")", "[", "See", "ref", ".", "12", ".", "]", "End", "."]
    # ... a run of chunks with none of them is one pseudo-token.
    plain = "  well-known, non-trivial (x) and  so on\n"
    assert splitter.english_tokens(plain, 0, len(plain))[2] == [
        "well-known, non-trivial",
        "(",
        "x",
        ")",
        "and  so on",
    ]
    # ... and so is a chunk of closers alone; one with another character is not.
    quoted = "x (Done. ” ’) Patients’ “word” ok. ”’ end"
    assert splitter.english_tokens(quoted, 0, len(quoted))[2] == [
        "x",
        "(",
        "Done",
        ".",
        "”",
        "’",
        ")",
        "Patients’ “word”",
        "ok",
        ".",
        "”",
        "’",
        "end",
    ]


def test_chunks_of_closers_with_other_characters_left_whole_change_no_span() -> None:
    # Closers, terminators and brackets glued to words, to each other and to
    # spaces in every order, bracket pairs crossing: where the chunks the fast
    # path leaves whole could matter.  The general path cuts every chunk with a closer.
    pieces = [" ", "\n", "Go", "go", "a", "1", "Fig", "et al", "U.S", "'s", ".", "...", "…", "!", "?"]
    pieces += ["(", ")", "[", "]", '"', "'", "”", "’", "»", "“"]
    pieces += ["Go. ", "(Go. ", "[Go! ", " ” ", " ’ ", "”’", "' ", ") ", "] ", " (", "?” ", " ) "] * 3
    rules = Config(data={}, base_dir=CONFIGS).load_rules("sentences.yaml")
    fast = SentenceSplitter(rules)
    general = SentenceSplitter(rules)
    general.significant_chunk = general.chunk_with_closer
    texts = random_texts(pieces, 3000, seed=29, fewest=1, most=40)
    prepared = SentenceSplitter(rules)
    prepared.prepare(texts)
    for text in texts:
        expected = general.split(text, "en")
        assert fast.split(text, "en") == expected, text
        assert prepared.split(text, "en") == expected, text
    # A run of closer chunks between a bracketed sentence's end and its bracket
    # is cut ("(Done. ” ’ )" ends there); crossing pairs are cut as before.
    assert split("Go. (Done. ” ’ ) Next.", "en") == ["Go.", "(Done. ” ’ )", "Next."]
    text = "[Go! a )  (?” ] ] Fig”’'» )  ) a”’1go) "
    assert fast.split(text, "en") == general.split(text, "en") == [(0, 15), (16, 38)]


def test_one_paragraph_texts_skip_the_scans_that_cannot_cut_them() -> None:
    # A text without a line break is one segment, the protected positions are
    # found only when a sentence could end, a DOI pattern runs only where "10."
    # occurs and a URL pattern only where "://" or "www." (any case) does,
    # brackets are matched only in a text holding one: the general path does all
    # of it for every text.
    from abstractpipe.patterns import PatternRule

    pieces = [" ", "\n", "\n\n", "- ", "• ", "1. ", "a) ", "iv. ", "(1) ", "一、", "（二）"]
    pieces += ["word", "Word", "ok", "et al. ", "[Go. Ok] ", "(Go. Ok) ", "[Go. ", " Ok] "]
    pieces += [".", "!", "?", "…", "(", ")", "[", "]", "（", "）", "。", "！", "；", "图", "中文", "“", "”"]
    pieces += ["10.1000/x.y", "doi:10.12345/abc)", "x10.1234/y", "https://x.org/a.b", "WWW.x.com.", "$a . b$"]
    pieces += ["wWw.a.b", "HTTP\u017f://x.y/z.", "h", "w", "ttp", "://", "www", "\u017f", "\u212a", "é"]
    rules = Config(data={}, base_dir=CONFIGS).load_rules("sentences.yaml")
    fast = SentenceSplitter(rules)
    assert fast.en_list_item_anchored and fast.zh_list_item_anchored
    assert fast.protected_prefilters[-1] is not None
    assert any(rule.needs_any_case for rule in fast.protected_rules)
    general = SentenceSplitter(rules)
    general.en_list_item_anchored = general.zh_list_item_anchored = False
    general.protected_prefilters = [None] * len(general.protected)
    general.protected_rules = [PatternRule(pattern) for pattern in general.protected]
    general.en_bracket = re.compile("")  # found in every text
    for text in random_texts(pieces, 3000, seed=31, fewest=0, most=25):
        assert fast._protected_positions(text) == general._protected_positions(text), text
        for lang in ("en", "zh", "other"):
            assert fast.split(text, lang) == general.split(text, lang), (text, lang)


def test_only_patterns_that_start_with_a_caret_are_line_anchored() -> None:
    from abstractpipe.sentences import _line_anchored, _without_leading_boundary

    assert _line_anchored(re.compile(r"^[ \t]*[•\-]\s", re.MULTILINE))
    assert _line_anchored(re.compile(r"(?m)^(?:a|b)"))
    for pattern in (r"[•\-]\s", r"a|^b", r"^a|b", r"\s*^a", r"(?:^a)?b", ""):
        assert not _line_anchored(re.compile(pattern, re.MULTILINE)), pattern
    assert _without_leading_boundary(re.compile(r"\b10\.\d+")) == re.compile(r"10\.\d+")
    for pattern in (r"(?i)\bwww\.", r"10\.\b", r"\\b"):
        assert _without_leading_boundary(re.compile(pattern)) is None, pattern


def test_english_tokenizer_starts_afresh_past_its_vocabulary_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import abstractpipe.sentences as sentences_module

    words = [f"(unseen{n}x.)" for n in range(40)]
    reference = sentences_module.english_tokenizer().tokenizer
    expected = [[t.text for t in reference(w)] for w in words]
    first = sentences_module.english_tokenizer()
    monkeypatch.setattr(sentences_module, "ENGLISH_VOCAB_LIMIT", len(first.vocab) + 10)
    fresh = [f"(novel{n}y.)" for n in range(40)]  # words the vocabulary has not seen: it grows
    tokens = [[t.text for t in sentences_module.english_tokenize(w)] for w in fresh]
    assert tokens == [[t.replace("unseen", "novel").replace("x", "y") for t in e] for e in expected]
    assert sentences_module.english_tokenizer() is not first  # rebuilt once past the limit
    again = [[t.text for t in sentences_module.english_tokenize(w)] for w in words]
    assert again == expected  # and a fresh pipeline tokenises as the old one did


def test_chunk_tokenizer_starts_afresh_past_the_vocabulary_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import abstractpipe.sentences as sentences_module

    first = sentences_module.chunk_tokenizer()
    monkeypatch.setattr(sentences_module, "ENGLISH_VOCAB_LIMIT", len(first.vocab) + 10)
    splitter = SentenceSplitter(Config(data={}, base_dir=CONFIGS).load_rules("sentences.yaml"))
    text = " ".join(f"(chunk{n}z.)" for n in range(40))  # new words: the vocabulary grows
    splitter.prepare([text])
    assert sentences_module.chunk_tokenizer() is not first  # rebuilt once past the limit
    reference = SentenceSplitter(Config(data={}, base_dir=CONFIGS).load_rules("sentences.yaml"))
    reference.use_spacy_for_whole_text = True
    assert splitter.split(text, "en") == reference.split(text, "en")


def test_chunk_patterns_find_what_the_lazy_scans_find() -> None:
    # The possessive "[^\s<marks>]*+[<marks>]\S*+" against "\S*?[<marks>]\S*", on whole
    # texts and on segments (a lookbehind sees the character before a segment).
    rules = Config(data={}, base_dir=CONFIGS).load_rules("sentences.yaml")
    splitter = SentenceSplitter(rules)
    significant = re.escape("!().?[]…")
    every = re.escape("!\"'().?[]»…’”")
    lazy_significant = re.compile(rf"(?<!\S)(?:\S*?[{significant}]\S*|[\"'»’”]+(?!\S))")
    lazy_every = re.compile(rf"(?<!\S)\S*?[{every}]\S*")
    pieces = [
        "a",
        "Fig",
        " ",
        "  ",
        "\n",
        "\t",
        "\u2003",
        "\u00a0",
        ".",
        "!",
        "?",
        "…",
        "(",
        ")",
        "[",
        "]",
        "'",
        "”",
    ]
    pieces += ["’", '"', "»", "e.g.", "x.", "(1)", "中", "。"]
    for text in random_texts(pieces, 3000, seed=17, fewest=0, most=20):
        for start, end in [(0, len(text)), (len(text) // 3, len(text)), (1, max(1, len(text) - 2))]:
            for fast, lazy in [
                (splitter.significant_chunk, lazy_significant),
                (splitter.chunk_with_closer, lazy_every),
            ]:
                found = [m.span() for m in fast.finditer(text, start, end)]
                assert found == [m.span() for m in lazy.finditer(text, start, end)], (text, start, end)
