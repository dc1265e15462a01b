"""The extract stage: title, metadata, section texts, page sections, statistics wiring."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import abstractpipe.clean
import abstractpipe.ingest
import abstractpipe.language
import abstractpipe.sections  # noqa: F401  (registers the steps used below)
from abstractpipe.config import load_config
from abstractpipe.document import Block, Document, Section, Source
from abstractpipe.extract import ExtractStep
from abstractpipe.extract.metadata import MetadataExtractor, normalise_doi
from abstractpipe.schema import Record
from tests.conftest import REPO, SEEDS, random_texts, run_in_memory

STEPS = ("ingest", "clean", "language", "sections", "extract")


@functools.cache
def seeds() -> dict[str, Document]:
    from abstractpipe.ingest import discover_inputs
    from abstractpipe.pipeline import STEP_REGISTRY, observe_sites, run_steps

    config = load_config(REPO / "configs" / "default.yaml")
    built = [STEP_REGISTRY[name](config) for name in STEPS]
    observe_sites(built, lambda: discover_inputs(SEEDS))
    return {doc.source.path: doc for doc in run_steps(built, discover_inputs(SEEDS))}


@pytest.fixture(scope="module")
def step() -> ExtractStep:
    return ExtractStep(load_config(REPO / "configs" / "default.yaml"))


def validate(fields: dict[str, Any]) -> None:
    """The fields must fit the Record schema as they are."""
    Record.model_validate(
        {
            "id": "x",
            "source": {"path": "x", "site": "x", "sha256": "0" * 64, "format": "text", "encoding": "utf-8"},
            "languages": ["en"],
            "text": "",
            **{k: fields[k] for k in ("title", "metadata", "sections", "page_sections")},
            "statistics": fields["statistics"],
        }
    )


def test_research_summary_seed_000() -> None:
    doc = seeds()["researchsummaries/000_f94bfd277bcc8f77.txt"]
    assert doc.failure is None
    fields = doc.fields
    assert fields["title"]["en"] == (
        "Mesenchymal stem cell-based therapies for treating well-studied neurological disorders: "
        "a systematic review"
    )
    assert fields["title"]["zh"] is None
    meta = fields["metadata"]
    assert meta["journal"] == "Frontiers in Medicine"
    assert meta["year"] == 2024
    assert meta["doi"] == "10.3389/fmed.2024.1361723"
    assert meta["published"] == "2024-03-27"
    pages = fields["page_sections"]
    for key in ("simple_explanation", "study_duration", "participants", "evidence_level", "research_summary"):
        assert isinstance(pages[key], str) and pages[key], key
    assert len(pages["key_findings"]) == 3
    assert pages["key_findings"][0].startswith("The review of 43 studies")
    assert isinstance(pages["study_limitations"], list) and len(pages["study_limitations"]) == 3
    # Sub-headings kept as "Sub-heading: text" items.
    assert pages["practical_implications"][0].startswith("Clinical Trial Design: Future studies")
    assert len(pages["practical_implications"]) == 3
    assert "your_feedback" not in pages
    validate(fields)


def test_research_summary_seed_001() -> None:
    fields = seeds()["researchsummaries/001_713c017a953e0b18.txt"].fields
    assert fields["metadata"]["doi"] == "10.1186/s12967-021-02843-0"
    assert fields["metadata"]["journal"] == "J Transl Med"
    assert fields["metadata"]["published"] == "2021-05-07"
    assert fields["page_sections"]["participants"] == "949 patients with SCI"
    assert fields["page_sections"]["study_duration"] == "Not specified"


def test_pubmed_seed_003() -> None:
    doc = seeds()["pubmed/003_207fb85fdc7ef63b.txt"]
    fields = doc.fields
    meta = fields["metadata"]
    assert meta["journal"] == "Mult Scler Relat Disord"
    assert meta["year"] == 2024
    assert meta["volume"] == "87"
    assert meta["pages"] == "105681"
    assert meta["doi"] == "10.1016/j.msard.2024.105681"
    assert meta["published"] == "2024-07"
    assert meta["affiliations"] == [
        "Isfahan Neurosciences Research Center, Isfahan University of Medical Sciences, Isfahan, Iran.",
        "Department of Neurology, School of Medicine, Hormozgan University of Medical Sciences, "
        "Bandarabbas, Iran.",
    ]
    keys = ["background", "objective", "methods", "results", "conclusions"]
    assert list(fields["sections"]["en"]) == keys
    assert list(fields["sections"]["zh"]) == keys
    assert fields["sections"]["zh"]["objective"] == "本综述深入探讨了 MSCs 治疗 pwMS 的疗效和安全性的文献。"
    assert fields["sections"]["en"]["objective"] == (
        "This review delves into the literature on the efficacy and safety of MSC therapy for pwMS."
    )
    assert fields["sections"]["zh"]["conclusions"].endswith("优化评估方法。")
    assert fields["page_sections"] == {}
    # Statistics point into doc.text and carry the section they lie in.
    stats = fields["statistics"]
    assert stats
    for stat in stats:
        assert doc.text[stat["start"] : stat["end"]] == stat["text"]
    wmd = [s for s in stats if s["measure"] == "WMD" and s["lang"] == "en"]
    assert wmd and wmd[0]["section"] == "results"
    validate(fields)


def test_clinic_page_takes_no_metadata_from_its_reference_list() -> None:
    meta = seeds()["clinic/004_50e99ab7af3fb43d.txt"].fields["metadata"]
    assert meta["doi"] is None
    assert meta["journal"] is None


def make_doc(lines: list[tuple[str, str]], page_meta: dict[str, list[str]] | None = None) -> Document:
    doc = Document(id="t", source=Source(path="t.html", site="t", format="html"))
    parts: list[str] = []
    pos = 0
    for kind, text in lines:
        if parts:
            pos += 2
        lang = "zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en"
        doc.blocks.append(
            Block(pos, pos + len(text), kind=kind, level=1 if kind == "heading" else 0, lang=lang)
        )
        parts.append(text)
        pos += len(text)
    doc.text = "\n\n".join(parts)
    doc.page_meta = page_meta or {}
    return doc


class FakeStatistics:
    """Finds "p = …" so the wiring (offsets, lang, section) can be checked on its own."""

    def find(self, text: str, lang: str) -> list[dict[str, Any]]:
        import re

        return [
            {
                "measure": "p",
                "value": float(m.group(1)),
                "text": m.group(0),
                "start": m.start(),
                "end": m.end(),
            }
            for m in re.finditer(r"p = (0\.\d+)", text)
        ]


def test_statistics_wiring_offsets_lang_and_section(
    step: ExtractStep, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(step, "statistics", FakeStatistics())
    text = "BACKGROUND: Old data. RESULTS: Pain fell (p = 0.03)."
    doc = make_doc([("paragraph", "Intro sentence p = 0.5 here."), ("paragraph", text)])
    start = doc.blocks[1].start
    doc.sections = [
        Section("en", "background", start + 12, start + 21, "BACKGROUND"),
        Section("en", "results", start + 31, start + len(text), "RESULTS"),
    ]
    step.process(doc)
    stats = doc.fields["statistics"]
    assert [(s["value"], s["section"], s["lang"]) for s in stats] == [
        (0.5, None, "en"),
        (0.03, "results", "en"),
    ]
    for stat in stats:
        assert doc.text[stat["start"] : stat["end"]] == stat["text"]


def test_html_meta_and_jsonld(step: ExtractStep) -> None:
    jsonld = (
        '{"@context": "https://schema.org", "@graph": [{"@type": "WebPage"}, {"@type": "ScholarlyArticle",'
        ' "headline": "Exercise after hip fracture", "datePublished": "2025-03-20",'
        ' "author": [{"@type": "Person", "name": "Ana Silva"}, "Bo Li"],'
        ' "isPartOf": {"@type": "PublicationIssue", "isPartOf": {"@type": "Periodical", "name": "J Rehab"}}}]}'
    )
    doc = make_doc(
        [("heading", "Exercise after hip fracture"), ("paragraph", "Some text.")],
        {
            "title": ["Exercise after hip fracture | Journal Site"],
            "citation_doi": ["https://doi.org/10.5555/ABC.123."],
            "citation_firstpage": ["45"],
            "citation_lastpage": ["52"],
            "citation_keywords": ["falls; exercise"],
            "jsonld": [jsonld],
        },
    )
    step.process(doc)
    meta = doc.fields["metadata"]
    assert doc.fields["title"]["en"] == "Exercise after hip fracture"
    assert meta["doi"] == "10.5555/abc.123"
    assert meta["pages"] == "45-52"
    assert meta["journal"] == "J Rehab"
    assert meta["published"] == "2025-03-20"
    assert meta["year"] == 2025
    assert meta["authors"] == ["Ana Silva", "Bo Li"]
    assert meta["keywords"]["en"] == ["falls", "exercise"]


def test_chinese_citation_line_title_and_keywords(step: ExtractStep) -> None:
    doc = make_doc(
        [
            ("paragraph", "血清尿酸与糖尿病肾病的关系"),
            ("paragraph", "中华医学杂志, 2020, 100(5): 321-325"),
            ("paragraph", "DOI:10.3760/cma.j.issn.0376-2491.2020.05.001"),
            ("paragraph", "关键词：糖尿病；尿酸分类号：R587"),
        ]
    )
    doc.source.format = "text"
    kw = doc.blocks[3]
    doc.sections = [Section("zh", "keywords", kw.start + 4, kw.end, "关键词")]
    step.process(doc)
    meta = doc.fields["metadata"]
    assert doc.fields["title"] == {"en": None, "zh": "血清尿酸与糖尿病肾病的关系"}
    assert (meta["journal"], meta["year"], meta["volume"], meta["issue"], meta["pages"]) == (
        "中华医学杂志",
        2020,
        "100",
        "5",
        "321-325",
    )
    assert meta["published"] == "2020"
    assert meta["doi"] == "10.3760/cma.j.issn.0376-2491.2020.05.001"
    assert meta["keywords"]["zh"] == ["糖尿病", "尿酸"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("doi: 10.1016/J.MSARD.2024.105681.", "10.1016/j.msard.2024.105681"),
        ("https://doi.org/10.1186/s12967-021-02843-0", "10.1186/s12967-021-02843-0"),
        ("DOI:10.3760/cma.j.issn.2095-5555.2020.05.001;", "10.3760/cma.j.issn.2095-5555.2020.05.001"),
        ("not a doi", None),
    ],
)
def test_normalise_doi(raw: str, expected: str | None) -> None:
    assert normalise_doi(raw) == expected


def test_dates_and_keyword_splitting() -> None:
    rules = load_config(REPO / "configs" / "default.yaml").load_rules("extract.yaml")["metadata"]
    meta = MetadataExtractor(rules)
    assert meta.iso_date("March 27, 2024") == "2024-03-27"
    assert meta.iso_date("2024 Jul") == "2024-07"
    assert meta.iso_date("2025/06/12") == "2025-06-12"
    assert meta.iso_date("2020年5月") == "2020-05"
    assert meta.split_keywords("Diabetes mellitus, type 2; Uric acid") == [
        "Diabetes mellitus, type 2",
        "Uric acid",
    ]
    assert meta.split_keywords("肺炎·护理干预·血液流变学") == ["肺炎", "护理干预", "血液流变学"]
    assert meta.split_keywords("语义丰富化 多维索引分类号：TP391") == ["语义丰富化", "多维索引"]


def test_header_less_abstract_gets_labelled_sections_in_both_languages(tmp_path: Path) -> None:
    doc = run_fixture_page(tmp_path, "unlabelled_bilingual_abstract.txt", "extract")
    en, zh = doc.fields["sections"]["en"], doc.fields["sections"]["zh"]
    assert en["methods"].startswith("We randomly assigned 320 adults")
    assert en["results"].startswith("Yoga was non-inferior") and "21%" in en["results"]
    assert en["conclusions"].startswith("A structured yoga programme")
    # Chinese sentences follow the labels of the English sentences they are aligned with
    assert zh["methods"].startswith("我们将320例慢性腰痛成人随机分配")
    assert zh["conclusions"] == "结构化瑜伽方案不劣于物理治疗，可作为合理的替代方案。"
    assert [w["code"] for w in doc.warnings].count("sections_inferred") == 2


def test_keywords_lines_a_dump_made_headings_are_the_keywords(tmp_path: Path) -> None:
    """Short "关键词：…" / "Key words: …" lines without a final stop become headings in a text
    dump; the sections stage still reads them as each abstract's keywords."""
    doc = run_fixture_page(tmp_path, "keywords_heading_lines.txt", "extract")
    assert doc.fields["metadata"]["keywords"] == {
        "en": ["gestational diabetes mellitus", "gut microbiota", "blood glucose"],
        "zh": ["妊娠期糖尿病", "肠道菌群", "血糖"],
    }


def test_header_less_computing_abstract_is_labelled_by_the_general_model(tmp_path: Path) -> None:
    doc = run_fixture_page(tmp_path, "unlabelled_computing_abstract.txt", "extract")
    en = doc.fields["sections"]["en"]
    assert en["background"].startswith("Graph neural networks") and "scales poorly" in en["background"]
    assert (
        en["objective"]
        == "In this paper, we propose a sampling scheme that bounds the neighbourhood each layer aggregates."
    )
    assert en["methods"].startswith("Our algorithm caches")
    assert en["results"].endswith("while matching its accuracy.")
    assert "conclusions" not in en or not en["conclusions"]
    assert [w["code"] for w in doc.warnings].count("sections_inferred") == 1


def test_chinese_only_header_less_abstract_is_labelled_by_cues_and_position(tmp_path: Path) -> None:
    doc = run_fixture_page(tmp_path, "unlabelled_chinese_abstract.txt", "extract")
    zh = doc.fields["sections"]["zh"]
    assert zh["background"].startswith("近年来，2型糖尿病患者")
    assert zh["objective"] == "本研究旨在探讨血清尿酸水平与糖尿病肾病的关系。"
    assert zh["methods"].startswith("选取2019年1月至2020年6月")
    assert zh["results"].startswith("糖尿病肾病组血清尿酸水平高于非肾病组") and "OR=1.42" in zh["results"]
    assert zh["conclusions"].startswith("血清尿酸可作为2型糖尿病患者肾脏损害的早期预警指标")
    assert not doc.fields["sections"]["en"]


def test_cue_labeller_keeps_canonical_order() -> None:
    from abstractpipe.extract.inferred import CueLabeller

    labeller = CueLabeller(
        {
            "position_centres": {"background": 0.0, "methods": 0.4, "results": 0.7, "conclusions": 1.0},
            "cues": {
                "results": [{"pattern": "P<", "weight": 5}],
                "methods": [{"pattern": "选取", "weight": 5}],
            },
        }
    )
    # a results cue before a methods cue cannot send the labels backwards
    labels = [key for key, _ in labeller.label(["背景。", "差异显著（P<0.05）。", "选取患者。", "结论。"])]
    assert labels == sorted(
        labels, key=["background", "objective", "methods", "results", "conclusions"].index
    )
    assert labels[0] == "background" and labels[-1] == "conclusions"


def _metadata_rules(step: ExtractStep) -> list[Any]:
    metadata = step.metadata
    return [*metadata.citation_lines, metadata.doi, metadata.pmid, metadata.published_line]


# Characters around the needs of the metadata rules, with case partners and look-alikes.
_METADATA_SOUP = st.text(
    alphabet="Pp Mm Ii Dd DOI: doi 10. / , ; · 2024 12345 J. ( ) 中华医学杂志学报 ，（）：-\u0130\u0131\u017f\u212a\n"
    "Published online 发布日期年月日 Jan",
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(_METADATA_SOUP)
def test_metadata_rules_cannot_match_without_their_needs(text: str) -> None:
    rules = _metadata_rules(ExtractStep(load_config(REPO / "configs" / "default.yaml")))
    assert all(rule.needs for rule in rules)
    for rule in rules:
        for match in rule.pattern.finditer(text):
            assert any(need in match.group() for need in rule.needs), (rule.pattern.pattern, text)


def test_metadata_needs_tests_change_no_match(step: ExtractStep) -> None:
    # Under (?i) "P" and "M" match only their two cases (the pmid needs lean on it).
    for letter in "pm":
        assert [chr(c) for c in range(0x110000) if re.match(f"(?i:{letter})", chr(c))] == [
            letter.upper(),
            letter,
        ]
    texts = [
        "Frontiers in Medicine, 2024 · DOI: 10.3389/fmed.2024.1361723 · Published: March 27, 2024",
        "Mult Scler Relat Disord. 2024 Jul;87:105681. doi: 10.1016/j.msard.2024.105681. PMID: 38744000",
        "中华医学杂志, 2020, 100(5): 321-325", "pMiD 1234567", "see https://doi.org/10.1000/x1",
        *[line for path in sorted(SEEDS.rglob("*.txt")) for line in path.read_text().splitlines()],
    ]  # fmt: skip
    for rule in _metadata_rules(step):
        for text in texts:
            plain = rule.pattern.search(text)
            fast = rule.search(text)
            assert (fast and fast.group()) == (plain and plain.group()), text


def test_affiliation_search_on_ascii_text_agrees_with_the_case_insensitive_one(step: ExtractStep) -> None:
    metadata = step.metadata
    assert metadata._ascii_affiliation is not None
    pieces = ["University", "UNIVERSITY", "univ", "Hospital", "hOSPITAL", "Centre", "CENTER", "clinic", "x",
              ", ", ",", " ", "Dept.", "School", "1", "大学", "医院", "ſchool", "Faculty", "laboratory"]  # fmt: skip
    for text in random_texts(pieces, 3000, seed=23, fewest=1, most=9):
        plain = bool(metadata.affiliation.search(text)) and not re.search(r"\d{4}\s*;", text)
        if len(text) <= metadata.affiliation_max_chars and text.count(",") + text.count("，") >= 2:
            assert metadata.is_affiliation(text) == plain, text


def test_blocks_without_a_digit_are_skipped_exactly(
    step: ExtractStep, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Skipping a digitless block must leave the statistics found over every block unchanged."""
    import random

    import abstractpipe.extract as extract

    rng = random.Random(4)
    pieces = ["OR 2.1", "(95% CI 1.3-3.4)", "P = 0.002", "n = 40", "12 patients", "mean 3.5", "Pain fell",
              " ", ". ", "疼痛", "例", "P<0.05", "٣", "RESULTS: ", "x"]  # fmt: skip
    for _ in range(60):
        lines = []
        for _ in range(rng.randrange(1, 8)):
            kind = rng.choice(["paragraph", "paragraph", "heading", "list_item"])
            lines.append((kind, "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 12)))))
        doc = make_doc(lines)
        sections = []
        for block in doc.blocks:
            if rng.random() < 0.5 and block.end > block.start:
                start = rng.randrange(block.start, block.end)
                sections.append(Section(block.lang, "results", start, rng.randrange(start, block.end + 1)))
        found = step._statistics(doc, sections)
        with monkeypatch.context() as patched:
            patched.setattr(extract, "may_hold_statistics", lambda text, start=0, end=None: True)
            assert step._statistics(doc, sections) == found


def run_fixture_page(tmp_path: Path, name: str, folder: str = "sections") -> Document:
    """The one page ``tests/fixtures/<folder>/<name>`` run through the pipeline in memory."""
    page = Path(__file__).parent / "fixtures" / folder / name
    raw = tmp_path / "raw" / "site"
    raw.mkdir(parents=True)
    (raw / page.name).write_bytes(page.read_bytes())
    (doc,) = run_in_memory(tmp_path / "raw")
    assert doc.failure is None
    return doc


def test_bold_upper_case_run_in_headers_without_colons(tmp_path: Path) -> None:
    # "<b>OBJECTIVES</b> To estimate…": the markup is gone after cleaning, and a colon-less
    # upper-case label could not open an abstract, so the page had no sections at all.
    doc = run_fixture_page(tmp_path, "run_in_upper_case_headers.html")
    en = doc.fields["sections"]["en"]
    assert list(en) == ["objective", "methods", "results", "conclusions"]
    assert en["objective"].startswith("To estimate the association")
    assert en["methods"].split("\n\n") == [
        "Prospective cohort study.",
        "Nurses working in 40 hospitals.",
        "9,410 nurses without diabetes at baseline.",
        "Incident type 2 diabetes.",
    ]
    assert en["conclusions"] == "Long-term night shift work was associated with type 2 diabetes."
    assert not any(w["code"] == "sections_inferred" for w in doc.warnings)


def test_summary_page_with_definition_list_and_numbered_items(tmp_path: Path) -> None:
    # "<dt>Study Duration</dt>" is a paragraph after cleaning, and "<li><span>1</span><p>…</p>"
    # splits into a number and a paragraph: the facts were swallowed by the section before
    # them and the findings became one string with the numbers in it.
    pages = run_fixture_page(tmp_path, "summary_page_definition_list.html").fields["page_sections"]
    assert pages["simple_explanation"].endswith("than those who kept their usual routine.")
    assert pages["study_duration"] == "8 weeks of training and a 4-week follow-up"
    assert pages["participants"] == "40 manual wheelchair users with shoulder pain"
    assert pages["evidence_level"] == "Level 2: Randomized pilot trial"
    assert pages["key_findings"] == [
        "Shoulder pain scores fell by 12 points with hand cycling and by 3 points with usual care.",
        "Nine in ten participants completed at least 80% of the sessions.",
    ]
    assert pages["study_limitations"] == [
        "The trial was small and lasted only eight weeks.",
        "Participants knew which group they were in.",
    ]
    assert "your_feedback" not in pages


def test_identifier_line_after_a_header_less_abstract_is_not_in_it(tmp_path: Path) -> None:
    # The section under the "Abstract" heading ran on over the next paragraph, a block in no
    # language, so "PMID: 37000001" ended up in the inferred conclusions.
    doc = run_fixture_page(tmp_path, "headerless_abstract_then_pmid.txt")
    en = doc.fields["sections"]["en"]
    assert en["conclusions"].endswith("a modifiable risk factor for memory decline.")
    assert not any("PMID" in text for text in en.values())
