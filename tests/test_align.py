"""Align stage: section pairing, sentence links on the PubMed seed, link types, banding."""

from __future__ import annotations

import re
from pathlib import Path

from abstractpipe.align import (
    AlignParams,
    AlignStep,
    _length,
    align_sentences,
    default_params,
    group_sections,
    pair_sections,
)
from abstractpipe.config import Config
from abstractpipe.document import Block, Document, Section, Sentence, Source
from abstractpipe.language import LanguageStep
from abstractpipe.sections import SectionsStep
from abstractpipe.sentences import SentencesStep
from tests.complexity import growth
from tests.conftest import random_texts

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SEED = next((Path(__file__).parent / "fixtures" / "seeds" / "pubmed").glob("003_*.txt"))
HEADER_KEYS = {
    "BACKGROUND": "background",
    "OBJECTIVE": "objective",
    "METHODS": "methods",
    "RESULTS": "results",
    "CONCLUSIONS": "conclusions",
    "背景": "background",
    "目的": "objective",
    "方法": "methods",
    "结果": "results",
    "结论": "conclusions",
}


def config() -> Config:
    data = {name: {"rules": f"{name}.yaml"} for name in ("language", "sections", "sentences", "align")}
    return Config(data=data, base_dir=CONFIGS)


def line_blocks(text: str) -> list[Block]:
    blocks, position = [], 0
    for line in text.split("\n"):
        if line.strip():
            blocks.append(Block(position, position + len(line)))
        position += len(line) + 1
    return blocks


def seed_document() -> Document:
    """The PubMed seed with blocks per line and sections found by its headers, as the
    clean and sections stages would give them."""
    text = SEED.read_text(encoding="utf-8")
    doc = Document(
        id="003", source=Source(path=SEED.name, site="pubmed"), text=text, blocks=line_blocks(text)
    )
    headers = list(
        re.finditer(
            r"\b(BACKGROUND|OBJECTIVE|METHODS|RESULTS|CONCLUSIONS): |^(背景|目的|方法|结果|结论):", text, re.M
        )
    )
    for index, match in enumerate(headers):
        line_end = text.index("\n", match.end())
        following = headers[index + 1].start() if index + 1 < len(headers) else line_end
        end = min(following, line_end)
        while text[end - 1] == " ":
            end -= 1
        header = match.group(1) or match.group(2)
        lang = "en" if match.group(1) else "zh"
        doc.sections.append(Section(lang, HEADER_KEYS[header], match.end(), end, header))
    return doc


def run(doc: Document, *names: str) -> Document:
    steps = {
        "language": LanguageStep,
        "sections": SectionsStep,
        "sentences": SentencesStep,
        "align": AlignStep,
    }
    for name in names:
        (doc,) = list(steps[name](config())([doc]))
        assert doc.failure is None, doc.failure
    return doc


def test_seed_sections_and_sentences_align() -> None:
    doc = run(seed_document(), "language", "sentences", "align")
    assert doc.alignment.sections == [
        ("background", "background"),
        ("objective", "objective"),
        ("methods", "methods"),
        ("results", "results"),
        ("conclusions", "conclusions"),
    ]
    en = doc.sentences_in("en")
    zh = doc.sentences_in("zh")

    def linked_zh(fragment: str) -> str:
        for link in doc.alignment.sentences:
            if any(fragment in doc.span(en[k].start, en[k].end) for k in link.en):
                return " ".join(doc.span(zh[k].start, zh[k].end) for k in link.zh)
        raise AssertionError(f"no link for {fragment!r}")

    assert "-0.28" in linked_zh("was -0.28")
    assert "-0.34" in linked_zh("(WMD = -0.34")
    assert "19.11%" in linked_zh("19.11 %")
    assert linked_zh("The inclusion criteria").startswith("纳入标准")
    assert linked_zh("Further research is needed").startswith("需要进一步研究")

    # Every sentence of the aligned sections is in exactly one link; all links are in order.
    in_sections = {
        lang: [k for k, s in enumerate(doc.sentences_in(lang)) if s.section is not None]
        for lang in ("en", "zh")
    }
    assert sorted(k for link in doc.alignment.sentences for k in link.en) == in_sections["en"]
    assert sorted(k for link in doc.alignment.sentences for k in link.zh) == in_sections["zh"]
    assert all(0.0 <= link.score <= 1.0 for link in doc.alignment.sentences)
    assert min(link.score for link in doc.alignment.sentences) > default_params().low_confidence


def test_seed_alignment_is_deterministic() -> None:
    first = run(seed_document(), "language", "sentences", "align")
    second = run(seed_document(), "language", "sentences", "align")
    assert first.alignment == second.alignment
    assert first.warnings == second.warnings


EN = [
    "We enrolled 240 adults with chronic low back pain.",
    "Patients received acupuncture or sham treatment for 8 weeks.",
    "Pain scores fell by 2.4 points with acupuncture and by 1.1 points with sham treatment, "
    "and disability (RMDQ) improved by 3.5 points versus 1.2 points.",
    "Adverse events were mild.",
    "Acupuncture is a reasonable option for these patients.",
]
ZH = [
    "我们纳入了 240 名慢性下腰痛成人患者。",
    "患者接受针刺或假针刺治疗 8 周。",
    "针刺组疼痛评分下降 2.4 分，假针刺组下降 1.1 分；",
    "失能评分(RMDQ)分别改善 3.5 分和 1.2 分。",
    "不良事件均较轻微。",
    "针刺是这类患者的合理选择。",
]


def test_one_to_two_link() -> None:
    links = align_sentences(EN, ZH, default_params())
    assert [(en, zh) for en, zh, _ in links] == [
        ([0], [0]),
        ([1], [1]),
        ([2], [2, 3]),
        ([3], [4]),
        ([4], [5]),
    ]


def test_two_to_one_link() -> None:
    en = ["We enrolled 120 adults.", "All of them had type 2 diabetes.", "Follow-up lasted 12 months."]
    zh = ["我们纳入了 120 名 2 型糖尿病成人患者。", "随访 12 个月。"]
    links = align_sentences(en, zh, default_params())
    assert [(e, z) for e, z, _ in links] == [([0, 1], [0]), ([2], [1])]


def test_omitted_sentence_is_a_zero_to_one_link() -> None:
    zh = [*ZH[:2], "本研究经伦理委员会批准，批准号 2021-045，所有患者均签署知情同意书。", *ZH[2:]]
    links = align_sentences(EN, zh, default_params())
    assert ([], [2], default_params().null_link_score) in links
    assert [(e, z) for e, z, _ in links if e == [2]] == [([2], [3, 4])]


def test_empty_side_gives_null_links() -> None:
    assert align_sentences(EN[:2], [], default_params()) == [([0], [], 0.0), ([1], [], 0.0)]
    assert align_sentences([], ZH[:1], default_params()) == [([], [0], 0.0)]
    assert align_sentences([], [], default_params()) == []


def test_params_from_mapping_and_restricted_link_types() -> None:
    params = AlignParams.from_mapping({"link_priors": {"1-1": 0.9, "1-0": 0.05, "0-1": 0.05}, "unknown": 1})
    links = align_sentences(EN, ZH, params)
    assert all(len(en) <= 1 and len(zh) <= 1 for en, zh, _ in links)
    assert sorted(k for en, _, _ in links for k in en) == list(range(len(EN)))
    assert sorted(k for _, zh, _ in links for k in zh) == list(range(len(ZH)))


def _parallel_sentences(count: int) -> tuple[list[str], list[str]]:
    en = [
        f"Outcome {k} improved by {k % 17}.{k % 7} points in the group of patients studied."
        for k in range(count)
    ]
    zh = [f"结局 {k} 在所研究的患者组中改善了 {k % 17}.{k % 7} 分。" for k in range(count)]
    return en, zh


def test_banded_dp_grows_linearly_on_long_inputs() -> None:
    links = align_sentences(*_parallel_sentences(1000), default_params())
    assert [(e, z) for e, z, _ in links] == [([k], [k]) for k in range(1000)]
    # 4x the sentences: ~4x the work in the band, where a full DP table would be 16x.
    assert growth(lambda n: align_sentences(*_parallel_sentences(n), default_params()), 100, 400) < 6


def test_pair_sections_by_key_then_order() -> None:
    def sections(lang: str, keys: list[str]) -> list[Section]:
        return [Section(lang, key, 10 * k, 10 * k + 5) for k, key in enumerate(keys)]

    en = sections("en", ["background", "methods", "results", "conclusions", "keywords"])
    zh = sections("zh", ["objective", "methods", "results", "other", "conclusions"])
    pairs = [(a.key, b.key) for a, b in pair_sections(en, zh)]
    assert pairs == [
        ("background", "objective"),
        ("methods", "methods"),
        ("results", "results"),
        ("conclusions", "conclusions"),
    ]


def sentence_doc(en: list[str], zh: list[str], between: str = "\n") -> Document:
    text = " ".join(en) + between + "".join(zh)
    doc = Document(id="u", source=Source(path="u.txt", site="."), text=text)
    position = 0
    for sentence in en:
        doc.sentences.append(Sentence(position, position + len(sentence), "en", None, 0))
        position += len(sentence) + 1
    position = len(" ".join(en)) + len(between)
    for sentence in zh:
        doc.sentences.append(Sentence(position, position + len(sentence), "zh", None, 1))
        position += len(sentence)
    return doc


def test_unlabelled_abstract_and_translation_align_as_one_pair() -> None:
    doc = run(sentence_doc(EN, ZH), "align")
    assert doc.alignment.sections == []
    assert [(link.en, link.zh) for link in doc.alignment.sentences] == [
        ([0], [0]),
        ([1], [1]),
        ([2], [2, 3]),
        ([3], [4]),
        ([4], [5]),
    ]


def test_unlabelled_runs_of_very_different_size_are_not_aligned() -> None:
    doc = run(sentence_doc(EN, ZH[:1]), "align")
    assert doc.alignment.sentences == []


def test_low_confidence_links_are_warned() -> None:
    doc = sentence_doc(
        EN,
        [*ZH[:2], "本研究经伦理委员会批准，批准号 2021-045，所有患者均签署知情同意书。", *ZH[2:]],
    )
    doc = run(doc, "align")
    assert {"code": "low_confidence_link", "detail": "[] ~ [2]: score 0.00"} in doc.warnings


def test_untranslated_registration_line_is_left_out_not_merged() -> None:
    en = [
        "We randomised 180 adults with type 2 diabetes to CGM or finger-stick monitoring.",
        "HbA1c fell by 0.6 percentage points more with CGM.",
        "Conclusions: In adults with type 2 diabetes on insulin, CGM improved glucose control "
        "without increasing hypoglycaemia.",
        "Trial registration: ClinicalTrials.gov NCT05123456.",
    ]
    zh = [
        "我们将180例2型糖尿病成人随机分配至CGM组或指尖血糖监测组。",
        "CGM组HbA1c多降低0.6个百分点。",
        "结论：对于接受胰岛素治疗的2型糖尿病患者，CGM可改善血糖控制，且不增加低血糖风险。",
    ]
    links = [(e, z) for e, z, _ in align_sentences(en, zh, default_params())]
    assert links == [([0], [0]), ([1], [1]), ([2], [2]), ([3], [])]


def test_chinese_keyword_line_is_a_zero_to_one_link() -> None:
    en = EN[:2]
    zh = [*ZH[:2], "【关键词】针刺；下腰痛；随机对照试验"]
    links = [(e, z) for e, z, _ in align_sentences(en, zh, default_params())]
    assert links == [([0], [0]), ([1], [1]), ([], [2])]


def test_short_omitted_sentence_with_foreign_anchors_is_not_merged() -> None:
    en = [EN[0], EN[1], "Data were analysed with SPSS 26.0.", *EN[2:]]
    links = [(e, z) for e, z, _ in align_sentences(en, ZH, default_params())]
    assert ([2], []) in links
    assert ([1], [1]) in links and ([3], [2, 3]) in links


def test_two_one_to_one_links_are_not_merged_into_a_two_to_two() -> None:
    en = [
        "Vaccination with three doses was associated with a lower risk (odds ratio 0.71, 95% CI 0.55-0.92).",
        "Conclusions: Long COVID after Omicron was uncommon and mostly resolved within a year.",
    ]
    zh = [
        "接种3剂疫苗者风险较低（比值比0.71，95% CI 0.55～0.92）。",
        "结论：奥密克戎感染后长新冠并不常见，且多数在1年内缓解。",
    ]
    links = [(e, z) for e, z, _ in align_sentences(en, zh, default_params())]
    assert links == [([0], [0]), ([1], [1])]


def test_genuine_merge_whose_sentences_share_anchors_is_kept() -> None:
    # Both English sentences carry numbers found in the one Chinese sentence: a true 2-1.
    en = ["We enrolled 120 adults.", "All of them had type 2 diabetes.", "Follow-up lasted 12 months."]
    zh = ["我们纳入了 120 名 2 型糖尿病成人患者。", "随访 12 个月。"]
    links = [(e, z) for e, z, _ in align_sentences(en, zh, AlignParams.from_mapping({}))]
    assert links[0] == ([0, 1], [0])


def test_length_counts_as_the_regex_reading() -> None:
    """``_length`` counts with str.split and skips the Han scan of ASCII text; same numbers as regexes."""
    every_space = re.findall(r"\s", "".join(map(chr, range(0x3001))))  # all of \s lies below U+3001
    pieces = ["a", "Ab", "1.5", "中", "文字", "\u3400", "\uf900", "é", "—", *every_space]
    texts = ["", " ", "plain ascii text", "中文 text\u3000x"]
    texts += random_texts(pieces, 2000, seed=4, fewest=1, most=20)
    han = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
    for text in texts:
        count = len(han.findall(text))
        assert _length(text, 3.6) == len(re.sub(r"\s+", "", text)) - count + count * 3.6, text


def test_marked_tokens_agree_with_counting_characters() -> None:
    from abstractpipe.align import LATIN_TOKEN, _marked_tokens, _token_key, _token_sets, _tokens

    def plain(text: str, min_length: int) -> frozenset[str]:
        return frozenset(
            _token_key(t)
            for t in LATIN_TOKEN.findall(text)
            if len(t) >= min_length and (sum(c.isupper() for c in t) >= 2 or any(c.isdigit() for c in t))
        )

    pieces = [
        "A",
        "b",
        "C",
        "d",
        "1",
        "-",
        "/",
        " ",
        "MSCs",
        "IL-6",
        "x2",
        "É",
        "K",
        "٣",
        "ǅ",
        "s",
        "S",
        "Ss",
    ]
    for text in random_texts(pieces, 3000, seed=5, fewest=0, most=11):
        for min_length in (1, 2, 3):
            assert _marked_tokens(text, min_length) == plain(text, min_length), text
            assert _token_sets(text, min_length) == (_tokens(text, min_length), plain(text, min_length)), text


def test_translated_design_header_keeps_the_chinese_abstract_whole() -> None:
    # A translation carries the English "Design:" header over as "设计：": the Chinese
    # abstract must not end there, or its methods, results and conclusions pair with nothing.
    text = (
        "Aims: To describe how ward nurses recognise delirium. Design: A qualitative study. "
        "Methods: We interviewed 16 nurses in 2 hospitals. Results: Two themes emerged. "
        "Conclusions: Nurses want more training.\n"
        "目的：描述病房护士如何识别谵妄。\n设计：质性研究。\n方法：对2所医院的16名护士进行访谈。\n"
        "结果：提炼出2个主题。\n结论：护士希望得到更多培训。"
    )
    doc = Document(id="d", source=Source(path="d.txt", site="."), text=text, blocks=line_blocks(text))
    doc = run(doc, "language", "sections", "sentences", "align")
    assert doc.alignment.sections == [
        ("objective", "objective"),
        ("methods", "methods"),
        ("methods", "methods"),
        ("results", "results"),
        ("conclusions", "conclusions"),
    ]
    assert [(link.en, link.zh) for link in doc.alignment.sentences] == [([k], [k]) for k in range(5)]


def test_section_folded_into_its_neighbour_by_the_translation_joins_that_pair() -> None:
    # The Chinese "目的：" holds the English BACKGROUND and OBJECTIVE: the background
    # was paired with nothing, so its sentences were in no link.
    text = (
        "BACKGROUND: Home blood pressure monitoring helps control hypertension. Its use in rural clinics "
        "is rare. OBJECTIVE: To test whether a text-message reminder raises home monitoring. "
        "METHODS: We randomized 240 adults in 12 villages. RESULTS: Monitoring rose from 31% to 58%. "
        "CONCLUSIONS: Reminders raised home monitoring.\n"
        "目的：家庭血压监测有助于控制高血压，但在农村诊所中很少使用。本研究旨在检验短信提醒能否提高家庭血压监测率。\n"
        "方法：将12个村庄的240名成人随机分组。\n结果：监测率从31%升至58%。\n结论：短信提醒提高了家庭血压监测率。"
    )
    doc = Document(id="f", source=Source(path="f.txt", site="."), text=text, blocks=line_blocks(text))
    doc = run(doc, "language", "sections", "sentences", "align")
    assert doc.alignment.sections == [
        ("background", "objective"),
        ("objective", "objective"),
        ("methods", "methods"),
        ("results", "results"),
        ("conclusions", "conclusions"),
    ]
    assert [(link.en, link.zh) for link in doc.alignment.sentences] == [
        ([0, 1], [0]),
        ([2], [1]),
        ([3], [2]),
        ([4], [3]),
        ([5], [4]),
    ]


def test_group_sections_folds_only_abstract_sections_that_even_out_the_lengths() -> None:
    def section(lang: str, key: str, start: int, length: int) -> Section:
        return Section(lang, key, start, start + length)

    en = [
        section("en", "methods", 0, 100),
        section("en", "results", 100, 100),
        section("en", "keywords", 200, 50),
    ]
    lengths = {id(s): float(s.end - s.start) for s in en}
    # The Chinese results hold as much as both English sections: methods folds into it...
    zh = [section("zh", "results", 300, 200)]
    lengths.update({id(s): float(s.end - s.start) for s in zh})
    groups = group_sections(en, zh, lambda s: lengths[id(s)])
    assert [([a.key for a in g[0]], [b.key for b in g[1]]) for g in groups] == [
        (["methods", "results"], ["results"])
    ]
    # ... but not when the pair is already balanced (an untranslated extra stays out),
    # and keywords never fold into an abstract section.
    zh = [section("zh", "results", 300, 100)]
    lengths.update({id(s): float(s.end - s.start) for s in zh})
    groups = group_sections(en, zh, lambda s: lengths[id(s)])
    assert [([a.key for a in g[0]], [b.key for b in g[1]]) for g in groups] == [(["results"], ["results"])]


def test_short_line_with_a_compound_header_and_its_body_pairs_its_section() -> None:
    # "背景与目的：…" on one short line was taken for a header alone ("背景" before "与"),
    # so its body was lost and the English background paired with nothing.
    text = (
        "BACKGROUND: Tenecteplase is easy to give. Its benefit after 4.5 hours is unclear. "
        "METHODS: We enrolled 516 patients. RESULTS: Independence rose to 33%. "
        "CONCLUSIONS: Tenecteplase helped.\n"
        "背景与目的：替奈普酶易于给药，但其在4.5 h后的获益尚不明确。\n方法：纳入患者516例。\n"
        "结果：功能独立率升至33%。\n结论：替奈普酶有益。"
    )
    doc = Document(id="g", source=Source(path="g.txt", site="."), text=text, blocks=line_blocks(text))
    doc = run(doc, "language", "sections", "sentences", "align")
    assert doc.alignment.sections == [
        ("background", "background"),
        ("methods", "methods"),
        ("results", "results"),
        ("conclusions", "conclusions"),
    ]
    assert [(link.en, link.zh) for link in doc.alignment.sentences] == [
        ([0, 1], [0]),
        ([2], [1]),
        ([3], [2]),
        ([4], [3]),
    ]


def test_labelled_abstract_with_an_unlabelled_translation_leaves_out_the_lines_before_it() -> None:
    # The English run of sentences also holds the affiliation and citation lines; only the
    # English abstract's own sentences face the Chinese translation.
    text = (
        "Department of Pediatrics, Example Hospital, Nanjing, China.\n"
        "Pediatrics. 2025 May;155(5):e2024060001.\n"
        "BACKGROUND: Vitamin D may reduce respiratory infections in infants. "
        "METHODS: We randomized 880 infants to 400 IU or 1200 IU daily. "
        "RESULTS: Infections occurred in 41.2% and 39.8% (P = .66). "
        "CONCLUSIONS: The higher dose did not prevent infections.\n"
        "维生素D可能减少婴儿呼吸道感染。我们将880名婴儿随机分配至每日400 IU或1200 IU组。"
        "两组感染发生率分别为41.2%和39.8%（P＝0.66）。较高剂量未能预防感染。"
    )
    doc = Document(id="h", source=Source(path="h.txt", site="."), text=text, blocks=line_blocks(text))
    doc = run(doc, "language", "sections", "sentences", "align")
    assert [s.key for s in doc.sections if s.lang == "zh"] == []
    first = len(doc.sentences_in("en")) - 4  # the abstract's four sentences come last
    assert [(link.en, link.zh) for link in doc.alignment.sentences] == [([first + k], [k]) for k in range(4)]


def test_affiliation_and_citation_lines_before_an_unlabelled_abstract_are_left_out() -> None:
    en = [
        "Department of Rheumatology, Example Hospital, Jinan, China.",
        "Rheumatology (Oxford).",
        "2025 Jan;64(1):55-63. doi: 10.1093/rheumatology/keae001.",
        "Gout flares are common after starting urate-lowering therapy.",
        "We tested whether colchicine for 6 months prevents flares better than 3 months.",
        "In total, 260 patients starting allopurinol were randomized.",
        "Six months of prophylaxis reduced late flares.",
    ]
    zh = [
        "开始降尿酸治疗后痛风发作很常见。",
        "我们检验了6个月秋水仙碱预防是否比3个月更能预防发作。",
        "共有260名开始服用别嘌醇的患者被随机分组。",
        "6个月预防减少了后期发作。",
    ]
    links = [(a, b) for a, b, _ in align_sentences(en, zh, default_params())]
    assert links == [([0], []), ([1], []), ([2], []), ([3], [0]), ([4], [1]), ([5], [2]), ([6], [3])]


def test_short_keywords_lines_taken_for_headings_still_pair() -> None:
    # Short and without a final stop, "【关键词】 肺炎；预后" is a heading block for the
    # clean stage; it still holds the abstract's keywords, and they pair with the English ones.
    text = (
        "【摘要】 目的 探讨降钙素原的预测价值。结论 降钙素原可预测死亡。\n"
        "【关键词】 肺炎；预后\n"
        "【Abstract】 Objective To assess the predictive value of procalcitonin. "
        "Conclusion Procalcitonin predicts death.\n"
        "【Key words】 Pneumonia; Prognosis"
    )
    doc = Document(id="k", source=Source(path="k.txt", site="."), text=text, blocks=line_blocks(text))
    for index in (1, 3):
        doc.blocks[index].kind = "heading"
    doc = run(doc, "language", "sections", "sentences", "align")
    assert [(s.lang, s.key) for s in doc.sections if s.key == "keywords"] == [
        ("zh", "keywords"),
        ("en", "keywords"),
    ]
    assert ("keywords", "keywords") in doc.alignment.sections
