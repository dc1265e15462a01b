"""The sections stage: abstracts and their labelled sections, for every header form."""

from __future__ import annotations

import functools
import random
import re
from pathlib import Path

import pytest

import abstractpipe.clean
import abstractpipe.ingest
import abstractpipe.language  # noqa: F401  (registers the steps used below)
from abstractpipe.config import load_config
from abstractpipe.document import Block, Document, Section, Source
from abstractpipe.sections import SectionFinder, SectionRules, SectionsStep, _norm_label, script_lang
from tests.conftest import REPO, SEEDS, SHARED, random_texts, requires_shared


@pytest.fixture(scope="module")
def finder() -> SectionFinder:
    config = load_config(REPO / "configs" / "default.yaml")
    return SectionFinder(SectionRules(config.load_rules(config.section("sections")["rules"])))


def doc_from_lines(text: str) -> Document:
    """One block per non-empty line; "# …" lines are headings; lang by script."""
    doc = Document(id="t", source=Source(path="t.txt", site="t"))
    parts: list[str] = []
    pos = 0
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if parts:
            pos += 2
        kind = "heading" if line.startswith("#") else "paragraph"
        if kind == "heading":
            line = line.lstrip("#").strip()
        doc.blocks.append(Block(pos, pos + len(line), kind=kind, lang=script_lang(line)))
        parts.append(line)
        pos += len(line)
    doc.text = "\n\n".join(parts)
    return doc


@functools.cache
def run_seeds(steps: tuple[str, ...]) -> dict[str, Document]:
    """The seed pages through the real earlier stages (both passes), by path."""
    from abstractpipe.ingest import discover_inputs
    from abstractpipe.pipeline import STEP_REGISTRY, observe_sites, run_steps

    config = load_config(REPO / "configs" / "default.yaml")
    built = [STEP_REGISTRY[name](config) for name in steps]
    observe_sites(built, lambda: discover_inputs(SEEDS))
    return {doc.source.path: doc for doc in run_steps(built, discover_inputs(SEEDS))}


def run_seed(name: str, steps: list[str]) -> Document:
    return run_seeds(tuple(steps))[name]


def by_key(doc: Document, sections: list[Section], lang: str, abstract: int = 0) -> dict[str, str]:
    found: dict[str, str] = {}
    for s in sections:
        if s.lang == lang and s.abstract == abstract:
            found[s.key] = doc.text[s.start : s.end]
    return found


def test_inline_upper_case_headers_and_chinese_colon_on_the_pubmed_seed() -> None:
    doc = run_seed("pubmed/003_207fb85fdc7ef63b.txt", ["ingest", "clean", "language", "sections"])
    en = by_key(doc, doc.sections, "en")
    zh = by_key(doc, doc.sections, "zh")
    assert list(en) == ["background", "objective", "methods", "results", "conclusions"]
    assert list(zh) == ["background", "objective", "methods", "results", "conclusions"]
    assert (
        en["objective"]
        == "This review delves into the literature on the efficacy and safety of MSC therapy for pwMS."
    )
    assert zh["objective"] == "本综述深入探讨了 MSCs 治疗 pwMS 的疗效和安全性的文献。"
    assert en["conclusions"].endswith("optimize evaluation methods for MSC therapy on pwMS.")
    assert "Cochrane" not in zh["conclusions"]
    headers = {(s.lang, s.key): s.header for s in doc.sections}
    assert headers[("en", "background")] == "BACKGROUND"
    assert headers[("zh", "results")] == "结果"


@pytest.mark.parametrize(
    "name",
    [
        "researchsummaries/000_f94bfd277bcc8f77.txt",
        "researchsummaries/001_713c017a953e0b18.txt",
        "clinic/004_50e99ab7af3fb43d.txt",
    ],
)
def test_pages_without_an_abstract_get_no_sections(name: str) -> None:
    doc = run_seed(name, ["ingest", "clean", "language", "sections"])
    assert doc.failure is None
    assert doc.sections == []


def test_objective_period_form(finder: SectionFinder) -> None:
    doc = doc_from_lines(
        "Abstract\n"
        "Objective. To assess whether early mobilisation shortens stay. Methods. We randomised 120 "
        "adults. Results. Stay was 2 days shorter. Conclusions. Early mobilisation helps.\n"
        "Introduction\n"
        "Hospital stay after surgery is long. Results. Of earlier work are mixed."
    )
    sections = finder.find(doc)
    en = by_key(doc, sections, "en")
    assert en == {
        "objective": "To assess whether early mobilisation shortens stay.",
        "methods": "We randomised 120 adults.",
        "results": "Stay was 2 days shorter.",
        "conclusions": "Early mobilisation helps.",
    }
    assert all(s.abstract == 0 for s in sections)


def test_bracketed_chinese_headers(finder: SectionFinder) -> None:
    doc = doc_from_lines(
        "【摘要】【目的】探讨血清尿酸与糖尿病肾病的关系。【方法】选取 300 例患者。"
        "【结果】尿酸升高与肾病相关。【结论】应重视尿酸管理。\n"
        "【关键词】糖尿病；尿酸"
    )
    sections = finder.find(doc)
    zh = by_key(doc, sections, "zh")
    assert zh["objective"] == "探讨血清尿酸与糖尿病肾病的关系。"
    assert zh["methods"] == "选取 300 例患者。"
    assert zh["conclusions"] == "应重视尿酸管理。"
    assert zh["keywords"] == "糖尿病；尿酸"
    assert {s.header for s in sections if s.key == "results"} == {"【结果】"}


def test_chinese_full_width_colon_on_separate_lines(finder: SectionFinder) -> None:
    doc = doc_from_lines(
        "背景：颈髓损伤后上肢功能恢复有限。\n"
        "目的：检验经皮脊髓刺激的效果。\n"
        "方法：纳入 64 例患者。\n"
        "结果：刺激组评分提高 4.8 分。\n"
        "结论：刺激联合训练有效。\n"
        "参考文献列表如下，方法：见原文。"
    )
    zh = by_key(doc, finder.find(doc), "zh")
    assert zh == {
        "background": "颈髓损伤后上肢功能恢复有限。",
        "objective": "检验经皮脊髓刺激的效果。",
        "methods": "纳入 64 例患者。",
        "results": "刺激组评分提高 4.8 分。",
        "conclusions": "刺激联合训练有效。",
    }


def test_headings_on_their_own_line_span_paragraphs(finder: SectionFinder) -> None:
    doc = doc_from_lines(
        "# Exercise after hip fracture: a randomised trial\n"
        "# Abstract\n"
        "# Background\n"
        "Falls are common after hip fracture.\n"
        "# Methods\n"
        "We randomised 612 adults.\n"
        "Follow-up lasted 12 months.\n"
        "# Results\n"
        "Falls fell by a quarter.\n"
        "# Conclusions\n"
        "Home exercise prevents falls.\n"
        "# Introduction\n"
        "Hip fracture is a major cause of disability.\n"
        "# Methods\n"
        "This trial ran in 12 hospitals."
    )
    sections = finder.find(doc)
    en = by_key(doc, sections, "en")
    assert en["background"] == "Falls are common after hip fracture."
    assert en["methods"] == "We randomised 612 adults.\n\nFollow-up lasted 12 months."
    assert en["conclusions"] == "Home exercise prevents falls."
    # The body's "Methods" heading after "Introduction" is not a second abstract.
    assert {s.abstract for s in sections} == {0}
    assert all("12 hospitals" not in doc.text[s.start : s.end] for s in sections)


def test_pdf_style_space_and_glued_chinese_headers(finder: SectionFinder) -> None:
    doc = doc_from_lines(
        "张三，李四 某某医院内科，广州 510000摘要：目的 探讨护理干预的效果。方法选取 128 例患儿，"
        "随机分为两组。结果观察组有效率高于对照组。结果显示两组差异有统计学意义。"
        "结论 综合护理有效。关键词：护理干预；血液流变学"
    )
    sections = finder.find(doc)
    zh = by_key(doc, sections, "zh")
    assert zh["objective"] == "探讨护理干预的效果。"
    assert zh["methods"] == "选取 128 例患儿，随机分为两组。"
    # "结果显示…" inside the results is not a second results header.
    assert zh["results"] == "观察组有效率高于对照组。结果显示两组差异有统计学意义。"
    assert zh["conclusions"] == "综合护理有效。"
    assert zh["keywords"] == "护理干预；血液流变学"
    assert all("医院" not in doc.text[s.start : s.end] for s in sections)


def test_glued_english_headers_after_abstract_marker(finder: SectionFinder) -> None:
    doc = doc_from_lines(
        "Abstract: ObjectiveTo investigate nursing care.Methods128children were divided into two "
        "groups.Results The effective rate was higher. Conclusion Nursing care helps. "
        "Key words: nursing; children"
    )
    en = by_key(doc, finder.find(doc), "en")
    assert en["objective"] == "To investigate nursing care."
    assert en["methods"] == "128children were divided into two groups."
    assert en["results"] == "The effective rate was higher."
    assert en["conclusions"] == "Nursing care helps."
    assert en["keywords"] == "nursing; children"


def test_chinese_word_for_method_inside_ordinary_text_is_not_a_header(finder: SectionFinder) -> None:
    doc = doc_from_lines(
        "本文介绍一种新的检测方法，结果表明该方法可靠。结论部分见下文。\n文章采用的方法：问卷调查。"
    )
    assert finder.find(doc) == []


CHINAXIV_LIKE = """\
# 基础研究
# 维生素C增强衰老小鼠骨髓间充质干细胞的增殖能力
王五，赵六 南方医科大学，广东广州 510515
摘要：目的 观察维生素C能否促进骨髓间充质干细胞增殖。方法 以早衰小鼠为实验组，采用CCK-8法检测增殖。\
结果 维生素C组增殖能力高于对照组 $( P { < } 0 . 0 5 )$ 。结论 维生素C能够增强细胞增殖能力。
关键词：骨髓间充质干细胞；维生素C；衰老
# Vitamin C promotes proliferation of bone marrow mesenchymal stem cells from aging mice
WANG Wu, ZHAO Liu Southern Medical University, Guangzhou 510515, China
Abstract: Objective To investigate whether vitamin C promotes proliferation.Methods Senescence-prone \
mice were used and proliferation was measured by CCK-8. Results Proliferation was higher with vitamin C \
$( P { < } 0 . 0 5 )$ . Conclusion Vitamin C promotes proliferation.
Key words: mesenchymal stem cells; vitamin C; senescence
# 1 资料与方法
# 1.1 实验动物
方法：选取8周龄小鼠40只。结果：见表1。
# 2 结果
结果 各组细胞增殖差异显著。结论 需要进一步研究。
# 3 讨论
Methods: not an abstract. Results: neither.
"""


def test_chinaxiv_like_page_keeps_the_body_out(finder: SectionFinder) -> None:
    doc = doc_from_lines(CHINAXIV_LIKE)
    sections = finder.find(doc)
    body_start = doc.text.index("1 资料与方法")
    assert all(s.end <= body_start for s in sections)
    zh = by_key(doc, sections, "zh")
    en = by_key(doc, sections, "en")
    assert list(zh) == ["objective", "methods", "results", "conclusions", "keywords"]
    assert list(en) == ["objective", "methods", "results", "conclusions", "keywords"]
    assert zh["results"] == "维生素C组增殖能力高于对照组 $( P { < } 0 . 0 5 )$ 。"
    assert en["methods"] == ("Senescence-prone mice were used and proliferation was measured by CCK-8.")
    assert en["conclusions"] == "Vitamin C promotes proliferation."
    assert all(s.abstract == 0 for s in sections)


def test_a_second_abstract_in_the_same_language_is_numbered(finder: SectionFinder) -> None:
    doc = doc_from_lines(
        "BACKGROUND: First trial background. METHODS: First methods. RESULTS: First results.\n"
        "Similar article\n"
        "BACKGROUND: Second background. CONCLUSIONS: Second conclusion."
    )
    sections = finder.find(doc)
    assert by_key(doc, sections, "en", 0)["methods"] == "First methods."
    assert by_key(doc, sections, "en", 1) == {
        "background": "Second background.",
        "conclusions": "Second conclusion.",
    }


def test_tentative_abstract_needs_several_sections(finder: SectionFinder) -> None:
    # One mixed-case heading on a summary page is not an abstract.
    doc = doc_from_lines(
        "Study Duration\nNot specified\nParticipants\n949 patients with SCI\nEvidence Level\nReview"
    )
    assert finder.find(doc) == []


def test_step_counts_sections(repo: Path) -> None:
    config = load_config(repo / "configs" / "default.yaml")
    step = SectionsStep(config)
    doc = doc_from_lines("BACKGROUND: Some background. RESULTS: Some results.")
    step.process(doc)
    assert [s.key for s in doc.sections] == ["background", "results"]
    assert step.counters["sections_en_background"] == 1
    assert step.counters["abstracts_en"] == 1


@requires_shared
def test_chinaxiv_pages_find_both_abstracts_and_leave_the_body_out(finder: SectionFinder) -> None:
    pages = sorted((SHARED / "eval" / "pages" / "chinaxiv").glob("*.txt"))
    assert pages
    complete = 0
    for page in pages:
        doc = doc_from_lines(page.read_text(encoding="utf-8"))
        sections = finder.find(doc)
        keys = {(s.lang, s.key) for s in sections}
        assert ("zh", "objective") in keys and ("en", "objective") in keys, page.name
        # Nothing after the first numbered body heading ("1资料与方法", "1 材料和方法", …).
        body = next(
            (b.start for b in doc.blocks if b.kind == "heading" and doc.block_text(b)[:1] == "1"), None
        )
        if body is not None:
            assert all(s.end <= body for s in sections), page.name
        if all((lang, k) in keys for lang in ("en", "zh") for k in ("methods", "results", "conclusions")):
            complete += 1
    assert complete >= len(pages) - 5


def test_word_start_patterns_find_what_a_plain_finditer_finds(finder: SectionFinder) -> None:
    """``WordStartPattern.finditer`` skips ahead in C; it must yield what ``pattern.finditer`` does."""
    rules = finder.rules
    scanners = [rules.en_header, rules.en_marker, rules.en_keywords, rules.stop]
    words = ["Background", "BACKGROUND", "background", "Methods", "Materials and Methods", "Results",
             "Design, Setting, and Participants", "Abstract", "Summary", "Key words", "Keywords",
             "Funding", "Trial Registration", "基金项目", "利益冲突", "Results/Conclusions", "Aim"]  # fmt: skip
    glue = [" ", "  ", ": ", ":", "：", ". ", ".", "\n", "", "(", "x", "é", "İ", "ı", "ſ", "\u212a", "3",
            "结果", "目的：", "A total", "the", "[", "【", "$", "ETTING", "ethods", "-"]  # fmt: skip
    rng = random.Random(5)
    texts = [
        "",
        "Results",
        " Results: x",
        "ıntroduction: A",
        "\u212aey words: x",
        "ſummary: A",
        "摘要Abstract: B",
    ]
    texts += ["".join(rng.choice(words if rng.random() < 0.4 else glue) for _ in range(rng.randint(1, 14)))
              for _ in range(4000)]  # fmt: skip
    found = 0
    for scanner in scanners:
        for text in texts:
            expected = [(m.span(), m.groupdict()) for m in scanner.pattern.finditer(text)]
            got = [(m.span(), m.groupdict()) for m in scanner.finditer(text)]
            assert got == expected, (scanner.pattern.pattern[:40], text)
            found += len(expected)
    assert found > 2000
    # ... and so must the four scanned in one pass.
    assert rules.english.patterns == scanners
    for text in texts:
        each = [[(m.span(), m.groupdict()) for m in matches] for matches in rules.english.finditer_each(text)]
        assert each == [[(m.span(), m.groupdict()) for m in s.pattern.finditer(text)] for s in scanners], text


def test_norm_label_collapses_spaces_like_the_regex() -> None:
    """``_norm_label`` splits on str.split's spaces: the same as collapsing every \\s run to one space."""
    spaces = re.findall(r"\s", "".join(map(chr, range(0x3001))))  # all of \s lies below U+3001
    pieces = ["a", "B", "İ", "’", "Key words", "目的", *spaces]
    for text in random_texts(pieces, 5000, seed=2, fewest=0, most=12):
        assert _norm_label(text) == re.sub(r"\s+", " ", text.strip().lower().replace("’", "'")), text


def test_script_counts_agrees_with_counting_matches() -> None:
    # script_counts counts Latin letters in UTF-8 bytes; the plain count is by regex.
    from abstractpipe.patterns import CJK_CHAR as _CJK_RE
    from abstractpipe.patterns import INLINE_MATH as _MATH_RE
    from abstractpipe.patterns import script_counts

    def plain(text: str) -> tuple[int, int]:
        text = _MATH_RE.sub(" ", text)
        return len(_CJK_RE.findall(text)), len(re.findall("[A-Za-z]", text))

    pieces = [
        "abc",
        "ABC",
        "目的",
        "é",
        "ſ",
        "K",
        "Ａ",
        "$x^2$",
        "$",
        "\ud800",
        "𠀀",
        " ",
        "1.5",
        "z",
        "\u3000",
        "ß",
    ]
    for text in random_texts(pieces, 2000, seed=3, fewest=0, most=9):
        assert script_counts(text) == plain(text), text


def test_ascii_screen_changes_no_candidates(finder: SectionFinder) -> None:
    # scan skips the English patterns on an ASCII text the screen finds no label word in,
    # and the Chinese patterns on any ASCII text.
    from abstractpipe.sections import _ascii_screen

    fast = finder
    config = load_config(REPO / "configs" / "default.yaml")
    slow = SectionFinder(SectionRules(config.load_rules(config.section("sections")["rules"])))
    slow.rules.ascii_screen = None
    slow.rules.zh_not_ascii = False  # and the Chinese patterns tried on ASCII text too
    assert fast.rules.ascii_screen is not None
    words = ["Methods", "METHODS", "methods", "Background", "ABSTRACT", "Abstract", "Key words", "keywords",
             "Results", "Conclusions", "Design", "Objective", "Materials and Methods", "materials  and\\nmethods",
             "References", "Introduction", "Trial registration"]  # fmt: skip
    pieces = [*words, " ", ":", ". ", "\n", "1", "(", "x", "A", "the", "[", "-", "Mk", "s"]
    texts = random_texts(pieces, 3000, seed=17, fewest=1, most=9)
    texts += [line for path in sorted(SEEDS.rglob("*.txt")) for line in path.read_text().splitlines()]
    for text in texts:
        assert fast.scan(text, 5) == slow.scan(text, 5), text
    # Under (?i) "ſ" matches "s" and the Kelvin sign "k": lower() would miss them.
    assert _ascii_screen(["ſtop"]) is None and _ascii_screen(["\u212aeywords"]) is None
    assert _ascii_screen(["目的", "Methods"]) is not None


def test_case_blind_screen_changes_no_candidates(finder: SectionFinder) -> None:
    # scan skips the English patterns on a non-ASCII text whose case_blind form holds no
    # label word; the general path tries them on every text.
    import re

    from abstractpipe.patterns import CJK_CHAR as _CJK_RE
    from abstractpipe.sections import _case_blind_screen

    fast = finder
    config = load_config(REPO / "configs" / "default.yaml")
    slow = SectionFinder(SectionRules(config.load_rules(config.section("sections")["rules"])))
    slow.rules.ascii_screen = slow.rules.case_blind_screen = None
    assert fast.rules.case_blind_screen is not None
    words = ["Methods", "METHODS", "Background", "ABSTRACT", "Key words", "Results", "Design", "Objective",
             "Materials and Methods", "materials  and\nmethods", "Trial registration", "通信作者", "基金项目",
             "摘要", "目的", "方法", "结果"]  # fmt: skip
    pieces = [*words, " ", ":", "：", ". ", "\n", "1", "(", "x", "A", "的", "é", "É", "\u3000", "【", "】"]
    pieces += ["\u0130", "\u0131", "\u017f", "\u212a", "De\u017fign", "\u212aey words", "Obj", "ective", "M"]
    pieces += ["Ab\u017ftract: ", "AB\u017fTRACT ", "\u0130NTRODUCTION ", "Key word\u017f: ", "A\u0131m: "]
    for text in random_texts(pieces, 3000, seed=23, fewest=1, most=9):
        assert fast.scan(text, 5) == slow.scan(text, 5), text
    # A Han character matches only itself under (?i): case_blind leaves the stop labels as written.
    every = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code < 0xE000)
    assert re.findall(f"(?i){_CJK_RE.pattern}", every) == _CJK_RE.findall(every)
    assert _case_blind_screen(["Methods", "ſtop"]) is None and _case_blind_screen(["Méthodes"]) is None
    assert _case_blind_screen(["Methods", "基金项目"]) is not None


def test_ascii_text_skips_the_chinese_patterns_only_when_they_cannot_match(finder: SectionFinder) -> None:
    assert finder.rules.zh_not_ascii
    texts = ["Methods: x", "[Objective] y", "abc", "", " : ", "1. Results A", "Key words: a; b"]
    for pattern in (finder.rules.zh_header, finder.rules.zh_marker, finder.rules.zh_keywords):
        assert not any(pattern.search(text) for text in texts)


FIXTURES = REPO / "tests" / "fixtures" / "sections"


def fixture_doc(name: str) -> Document:
    return doc_from_lines((FIXTURES / name).read_text(encoding="utf-8"))


def test_jama_combined_methods_header_is_one_label(finder: SectionFinder) -> None:
    # "Design, Setting, and Participants" was split by the YAML flow list into three labels, so
    # the block did not start with a header and the abstract ended after "Objective".
    doc = fixture_doc("jama_style_colon_abstract.txt")
    found = finder.find(doc)
    en = by_key(doc, found, "en")
    assert list(en) == ["background", "objective", "methods", "results", "conclusions"]
    headers = [s.header for s in found if s.key == "methods"]
    assert headers == ["Design, Setting, and Participants", "Interventions", "Main Outcomes and Measures"]
    assert "and participants" not in finder.rules.label_key


def test_colon_less_headers_of_one_key_at_block_starts_all_count(finder: SectionFinder) -> None:
    # "Exposures …" and "Main Outcomes and Measures …" after "Design, Setting, and Participants …"
    # are weak (no colon) but open their own blocks: their text belongs to the methods.
    doc = fixture_doc("jama_style_abstract.txt")
    found = finder.find(doc)
    methods = [doc.text[s.start : s.end] for s in found if s.key == "methods" and s.abstract == 0]
    assert len(methods) == 3
    assert methods[1] == "Parent-reported daily screen time on weekdays and weekends."
    assert methods[2] == "Incident myopia defined by cycloplegic refraction."
    en = by_key(doc, found, "en")
    assert list(en) == ["background", "objective", "methods", "results", "conclusions"]
    # The key points box before the abstract is no abstract: "Findings" there is weak.
    assert all(s.start > doc.text.index("Abstract") for s in found)


def test_keywords_line_taken_for_a_heading_is_still_the_keywords(finder: SectionFinder) -> None:
    # Short keywords lines of text dumps become heading blocks in the clean stage; they were
    # dropped as "a heading that is not a header", losing the record's keywords.
    doc = fixture_doc("keywords_line_as_heading.txt")
    found = finder.find(doc)
    keywords = {s.lang: doc.text[s.start : s.end] for s in found if s.key == "keywords"}
    assert keywords == {"zh": "髋部骨折；谵妄；老年", "en": "hip fracture; delirium; older adults"}
    assert list(by_key(doc, found, "zh")) == ["objective", "methods", "results", "conclusions", "keywords"]
    assert list(by_key(doc, found, "en")) == ["objective", "methods", "results", "conclusions", "keywords"]
    # The body after the keywords is not part of the abstract.
    assert all(s.end < doc.text.index("Introduction") for s in found)


def test_dash_slash_and_combined_english_headers(finder: SectionFinder) -> None:
    doc = fixture_doc("dash_and_slash_headers.txt")
    found = finder.find(doc)
    # "BACKGROUND — …": a dash after the label is as telling as a colon.
    first = by_key(doc, found, "en", 0)
    assert list(first) == ["background", "methods", "results", "conclusions"]
    assert first["conclusions"] == "Home telemonitoring lowered blood pressure after stroke."
    # "METHODOLOGY/PRINCIPAL FINDINGS:" is one header (its first part's key); before, "FINDINGS:"
    # alone was read as results and "METHODOLOGY/" stayed at the end of the background.
    second = by_key(doc, found, "en", 1)
    assert second["background"] == "Net use in highland villages is rarely measured."
    assert second["methods"].startswith("We surveyed 1,820 households")
    assert second["conclusions"] == "Net use in the highlands is too low to stop transmission."
    # "Methods and Results:" opens a section (it was no header, which ended the abstract).
    third = by_key(doc, found, "en", 2)
    assert list(third) == ["objective", "methods", "conclusions"]
    assert third["methods"].startswith("We enrolled 260 patients")


def test_copyright_sign_ends_the_last_section(finder: SectionFinder) -> None:
    doc = fixture_doc("copyright_after_conclusions.txt")
    found = finder.find(doc)
    assert by_key(doc, found, "en")["conclusions"] == "Prenatal iron did not improve child development."
    assert by_key(doc, found, "zh")["conclusions"] == "孕期补铁未能改善儿童发育。"


def test_case_blind_screen_takes_caseless_symbols(finder: SectionFinder) -> None:
    # "©" is a stop label: the screen must still be built (else every non-ASCII block runs the
    # English patterns) and must find it.
    screen = finder.rules.case_blind_screen
    assert screen is not None
    assert screen.search("结论：有效。©2021") is not None


def test_discussion_and_implications_close_an_abstract(finder: SectionFinder) -> None:
    doc = fixture_doc("discussion_and_implications_headers.txt")
    found = finder.find(doc)
    first = by_key(doc, found, "en", 0)
    assert list(first) == ["background", "objective", "methods", "results", "conclusions"]
    assert first["conclusions"] == "A lower dose was as effective and caused less vomiting."
    second = by_key(doc, found, "en", 1)
    assert second["conclusions"] == "Activity trackers may help stroke survivors walk more."
    # The "Discussion" heading after the abstract starts the body: not a conclusions header.
    assert all(s.end < doc.text.index("Physical activity after stroke") for s in found)


def test_impact_statement_after_the_conclusions_ends_the_abstract(finder: SectionFinder) -> None:
    doc = fixture_doc("nursing_journal_labels.txt")
    en = by_key(doc, finder.find(doc), "en")
    assert en["conclusions"] == "Carers need practical support with medicines."


def test_impact_without_a_colon_is_no_stop_label(finder: SectionFinder) -> None:
    # "Impact" is a stop label only before a colon: as a sentence's first word it is prose.
    candidates = finder.scan("RESULTS: Rates fell. Impact of age was small. CONCLUSION: It works.", 0)
    assert [c.kind for c in candidates] == ["header", "header"]


def test_chinese_design_label_opens_the_methods(finder: SectionFinder) -> None:
    # "设计:" was no label, so the design sentence stayed at the end of the objective.
    doc = fixture_doc("nursing_journal_labels.txt")
    found = finder.find(doc)
    assert by_key(doc, found, "zh")["objective"] == "描述家庭照护者在家中为痴呆患者管理药物的方式。"
    methods = [doc.text[s.start : s.end] for s in found if s.lang == "zh" and s.key == "methods"]
    assert methods == ["质性访谈研究。", "2022年从4家记忆门诊招募30名家庭照护者进行访谈。"]


def test_chinese_labels_spread_out_by_spaces(finder: SectionFinder) -> None:
    # PDF conversions write "目 的：" / "结 论：": the labels were not found, and the whole
    # abstract went to the cue labeller with the labels in its text.
    doc = fixture_doc("spaced_chinese_labels.txt")
    zh = by_key(doc, finder.find(doc), "zh")
    assert list(zh) == ["objective", "methods", "results", "conclusions", "keywords"]
    assert zh["objective"] == "探讨经皮冠状动脉介入治疗后患者运动康复的效果。"
    assert zh["conclusions"] == "运动康复可改善患者运动耐量。"
    # A text spaced out throughout has no colon-less labels in it.
    spaced = "结 论：有 效。结 果 显 示 改 善 明 显。"
    assert [c.header for c in finder.scan(spaced, 0)] == ["结 论"]


def test_title_case_run_in_headers_open_an_abstract_without_a_marker(finder: SectionFinder) -> None:
    # Lancet-style "Background Antenatal…" with the "Summary" heading lost: colon-less title-case
    # labels were weak and could not open an abstract.
    doc = fixture_doc("run_in_title_case_headers.txt")
    found = finder.find(doc)
    en = by_key(doc, found, "en")
    assert list(en) == ["background", "methods", "results", "conclusions"]
    assert en["conclusions"] == "Antenatal dexamethasone reduced neonatal death in low-resource countries."
    # One paragraph starting with a label word is no abstract.
    assert all(s.end < doc.text.index("Results of earlier trials") for s in found)


def test_labels_joined_by_an_ampersand_are_one_header(finder: SectionFinder) -> None:
    # "BACKGROUND & AIMS:" (gastroenterology journals): before, "AIMS:" alone opened the
    # abstract as its objective and "BACKGROUND &" was lost.
    doc = doc_from_lines(
        "BACKGROUND & AIMS: Fatty liver disease is common in adults with obesity. METHODS: We "
        "followed 1,200 adults for 5 years. RESULTS: Weight loss of 10% reversed steatosis in half. "
        "CONCLUSIONS: Weight loss reverses fatty liver disease."
    )
    en = by_key(doc, finder.find(doc), "en")
    assert list(en) == ["background", "methods", "results", "conclusions"]
    assert en["background"] == "Fatty liver disease is common in adults with obesity."


def test_joined_chinese_labels_are_one_header(finder: SectionFinder) -> None:
    # "目的/意义：" and "背景与目的：": before, only the first part was seen, glued (weak), so the
    # body began with "/意义：" or the abstract was not opened at all.
    doc = fixture_doc("joined_chinese_labels.txt")
    found = finder.find(doc)
    first = by_key(doc, found, "zh", 0)
    assert first["objective"] == "梳理公共图书馆开展健康信息服务的现状。"
    assert first["methods"] == "调查全国120家公共图书馆的网站与服务记录。"
    assert first["results"].startswith("提供健康信息服务的图书馆占43.3%")
    second = by_key(doc, found, "zh", 1)
    assert list(second) == ["background", "methods", "results", "conclusions"]
    assert second["background"] == "老年人跌倒常见且后果严重。"


def test_review_and_critical_care_labels(finder: SectionFinder) -> None:
    # "Evidence acquisition/synthesis" (urology reviews) and "Measurements and Main Results"
    # (critical care): unknown labels did not open a section, so their text was lost or ran on.
    doc = fixture_doc("review_and_critical_care_labels.txt")
    found = finder.find(doc)
    review = by_key(doc, found, "en", 0)
    assert list(review) == ["background", "objective", "methods", "results", "conclusions"]
    assert review["methods"] == "We searched three databases for cohort studies published up to 2023."
    assert review["results"].startswith("Twenty-six cohorts")
    trial = by_key(doc, found, "en", 1)
    assert trial["results"].startswith("Function at discharge was better")
    assert trial["methods"] == "We randomised 220 ventilated adults to early mobilisation or usual care."
    # "Patient summary:" ends the abstract; it is not an abstract marker opening a second one.
    assert [s.abstract for s in found if s.key != "keywords"] == [0] * 5 + [1] * 5
    assert "Men with low-risk prostate cancer" not in "".join(doc.text[s.start : s.end] for s in found)


def test_summary_after_recent_findings_is_the_conclusions(finder: SectionFinder) -> None:
    # Review journals: "Purpose of review", "Recent findings", "Summary". The labels were
    # unknown, and "Summary" (an abstract marker) opened a second, unlabelled abstract.
    doc = fixture_doc("review_purpose_findings_summary.txt")
    found = finder.find(doc)
    for index, conclusions in enumerate(
        [
            "These drugs should be offered to most patients with heart failure.",
            "Drug treatment of obesity is becoming part of routine care.",
        ]
    ):
        en = by_key(doc, found, "en", index)
        assert list(en) == ["objective", "results", "conclusions"] + (["keywords"] if index == 0 else [])
        assert en["conclusions"] == conclusions
    assert not any(s.key == "other" for s in found)


def test_marker_glued_to_a_header_or_followed_by_a_dash(finder: SectionFinder) -> None:
    # "摘要目的：" (a text dump that lost the space) and "Abstract—Background:" (IEEE): the
    # marker was not seen, and the first header, not at a sentence start, was dropped with its text.
    doc = fixture_doc("glued_and_dashed_markers.txt")
    found = finder.find(doc)
    zh = by_key(doc, found, "zh")
    assert list(zh) == ["objective", "methods", "results", "conclusions"]
    assert zh["objective"] == "探讨社区老年人衰弱的患病情况。"
    en = by_key(doc, found, "en")
    assert list(en) == ["background", "methods", "results", "conclusions"]
    assert en["background"] == "Frailty is common among older adults living in the community."


def test_plural_in_brackets_and_singular_method_labels(finder: SectionFinder) -> None:
    # "CONCLUSION(S):" and "MATERIAL AND METHOD:" were not labels: the first was lost with its
    # text, the second left "MATERIAL AND" at the end of the objective.
    doc = fixture_doc("plural_s_and_singular_method_labels.txt")
    found = finder.find(doc)
    first = by_key(doc, found, "en", 0)
    assert list(first) == ["background", "objective", "methods", "results", "conclusions"]
    assert first["objective"] == "To test a splint for thumb-base osteoarthritis."
    assert first["conclusions"] == "A splint eases thumb-base pain."
    second = by_key(doc, found, "en", 1)
    assert list(second) == ["objective", "methods", "results", "conclusions"]
    assert second["conclusions"] == "Shift-working nurses sleep too little."


def test_chinese_label_joined_to_an_unlisted_word(finder: SectionFinder) -> None:
    # "结论与讨论：": "讨论" is no label, so only "结论" was seen, glued (weak, not at a boundary).
    text = "目的：评价某疗法。方法：纳入患者60例。结果：有效率为80%。结论与讨论：该疗法有效。"
    candidates = finder.scan(text, 0)
    assert [(c.key, c.header) for c in candidates][-1] == ("conclusions", "结论与讨论")
    # Without a colon right after it, a joined word is prose.
    assert [c.header for c in finder.scan("结果与对照组相比显著。", 0)] == ["结果"]


def test_spaced_out_abstract_heading_is_a_marker(finder: SectionFinder) -> None:
    # Elsevier PDF conversions write "A B S T R A C T": the header-less abstract after it was
    # not found, so it got no sections at all.
    doc = fixture_doc("spaced_out_abstract_heading.txt")
    found = finder.find(doc)
    assert [(s.key, doc.text[s.start : s.end][:10]) for s in found] == [("other", "Loneliness")]
    assert found[0].end < doc.text.index("Introduction")


def test_headings_of_one_key_do_not_make_a_tentative_abstract(finder: SectionFinder) -> None:
    # "Discussion" and "Conclusions" headings of a paper body are both conclusions labels: two
    # sections of one key are no structured abstract.
    doc = fixture_doc("body_discussion_and_conclusions.txt")
    assert finder.find(doc) == []
