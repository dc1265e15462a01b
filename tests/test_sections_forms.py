"""Every header form of a labelled abstract, through the real steps: each sentence in its section."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from abstractpipe.document import Document
from tests.conftest import run_in_memory

# name -> (page text, [(start of each body sentence, its section)], in text order, complete)
PAGES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "en_inline_caps": (
        "BACKGROUND: Low back pain is a leading cause of disability worldwide. Exercise therapy is widely "
        "recommended. OBJECTIVE: To assess whether a home exercise programme reduces pain at 12 weeks. "
        "METHODS: We randomly assigned 240 adults to home exercise or usual care. The primary outcome was "
        "pain intensity. RESULTS: Pain intensity fell more with home exercise (MD -1.2, 95% CI -1.8 to "
        "-0.6). Adverse events were rare. CONCLUSIONS: A home exercise programme modestly reduces pain. "
        "It can be offered in primary care.\n",
        [
            ("Low back pain", "background"),
            ("Exercise therapy", "background"),
            ("To assess", "objective"),
            ("We randomly", "methods"),
            ("The primary outcome", "methods"),
            ("Pain intensity fell", "results"),
            ("Adverse events", "results"),
            ("A home exercise", "conclusions"),
            ("It can be offered", "conclusions"),
        ],
    ),
    "en_mixed_case": (
        "Objective. To compare two dosing schedules of iron supplementation in pregnant women. "
        "Methods. This was a randomised trial in four antenatal clinics. Women received iron daily or "
        "twice weekly. Results. Anaemia at delivery was similar in both groups (RR 1.05, 95% CI "
        "0.88-1.25). Side effects were fewer with weekly dosing. Conclusion. Twice-weekly iron is as "
        "effective as daily iron and better tolerated.\n",
        [
            ("To compare", "objective"),
            ("This was a randomised", "methods"),
            ("Women received", "methods"),
            ("Anaemia at delivery", "results"),
            ("Side effects", "results"),
            ("Twice-weekly iron", "conclusions"),
        ],
    ),
    "en_own_line": (
        "Background\nSepsis remains a major cause of death in intensive care units.\n"
        "Methods\nWe analysed 1,204 adults admitted with sepsis. Lactate was measured at admission.\n"
        "Results\nHigher lactate was associated with mortality (OR 2.3, 95% CI 1.7-3.1). The association "
        "held after adjustment.\nConclusions\nAdmission lactate predicts death in sepsis.\n",
        [
            ("Sepsis remains", "background"),
            ("We analysed", "methods"),
            ("Lactate was measured", "methods"),
            ("Higher lactate", "results"),
            ("The association held", "results"),
            ("Admission lactate", "conclusions"),
        ],
    ),
    "en_nlm_variants": (
        "AIMS: To evaluate a nurse-led clinic for heart failure. PATIENTS AND METHODS: Consecutive "
        "patients discharged after a heart failure admission were enrolled. Results of echocardiography "
        "were recorded at baseline. FINDINGS: Readmission at 90 days was lower in the clinic group (HR "
        "0.74, 95% CI 0.58-0.95). INTERPRETATION: Nurse-led follow-up reduces readmission.\n",
        [
            ("To evaluate", "objective"),
            ("Consecutive patients", "methods"),
            ("Results of echocardiography", "methods"),  # a sentence opening "Results of" is no header
            ("Readmission at 90", "results"),
            ("Nurse-led follow-up", "conclusions"),
        ],
    ),
    "zh_brackets": (
        "【摘要】【目的】探讨早期康复训练对脑卒中患者运动功能的影响。【方法】选取2021年收治的脑卒中患者120例，"
        "随机分为两组。观察组接受早期康复训练。【结果】观察组运动功能评分高于对照组(P<0.05)。"
        "两组不良事件发生率相近。【结论】早期康复训练可改善脑卒中患者的运动功能。\n",
        [
            ("探讨早期", "objective"),
            ("选取2021年", "methods"),
            ("观察组接受", "methods"),
            ("观察组运动", "results"),
            ("两组不良", "results"),
            ("早期康复训练可", "conclusions"),
        ],
    ),
    "zh_colon": (
        "目的：分析血清白蛋白水平与老年肺炎患者预后的关系。\n"
        "方法：回顾性分析我院收治的老年肺炎患者312例。根据白蛋白水平分为两组。\n"
        "结果：低白蛋白组28天病死率高于正常组(χ²=9.36，P=0.002)。\n"
        "结论：血清白蛋白水平可用于评估老年肺炎患者预后。\n",
        [
            ("分析血清", "objective"),
            ("回顾性分析", "methods"),
            ("根据白蛋白", "methods"),
            ("低白蛋白组", "results"),
            ("血清白蛋白水平可", "conclusions"),
        ],
    ),
    "zh_pdf_style_after_marker": (
        "摘要 目的 探讨针刺治疗慢性失眠的临床疗效。方法 选取慢性失眠患者80例，随机分为针刺组和药物组，"
        "每组40例。结果 针刺组总有效率为92.5%，高于药物组的75.0%(P<0.05)。结论 针刺治疗慢性失眠疗效确切。\n",
        [
            ("探讨针刺", "objective"),
            ("选取慢性", "methods"),
            ("针刺组总", "results"),
            ("针刺治疗慢性失眠疗效", "conclusions"),
        ],
    ),
    # No "摘要" before it: the space after each label is what marks it.
    "zh_pdf_style_bare": (
        "目的 评价两种麻醉方式对老年髋部骨折术后谵妄的影响。方法 纳入2020年至2022年行髋部骨折手术的老年患者"
        "156例。结果 腰麻组术后谵妄发生率低于全麻组(12.8% vs 24.4%，P=0.04)。两组住院时间相近。"
        "结论 腰麻可降低老年患者术后谵妄风险。\n",
        [
            ("评价两种", "objective"),
            ("纳入2020年", "methods"),
            ("腰麻组术后", "results"),
            ("两组住院", "results"),
            ("腰麻可降低", "conclusions"),
        ],
    ),
    "zh_pdf_style_lines": (
        "目的 评价社区随访对高血压控制的效果。\n资料与方法 纳入社区高血压患者428例，随机分为两组。\n"
        "结果 随访组血压控制率高于常规组(68.2% vs 51.4%，P<0.001)。结果显示两组依从性均有提高。\n"
        "结论 社区随访可提高高血压控制率。\n",
        [
            ("评价社区", "objective"),
            ("纳入社区", "methods"),
            ("随访组血压", "results"),
            ("结果显示两组", "results"),  # "结果显示…" inside the results: prose, not a header
            ("社区随访可", "conclusions"),
        ],
    ),
}


@functools.cache
def _run(raw_root: str) -> dict[str, Document]:
    # One folder (= one site) per page, so no page sees another's lines as site furniture.
    return {doc.source.site: doc for doc in run_in_memory(Path(raw_root))}


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Document]:
    raw = tmp_path_factory.mktemp("raw")
    for name, (text, _) in PAGES.items():
        (raw / name).mkdir()  # one site per page: no page's lines become another's furniture
        (raw / name / "page.txt").write_text(text, encoding="utf-8")
    return _run(str(raw))


def _headers_only(text: str) -> bool:
    """A sentence that is only a header line ("Methods" on its own line)."""
    return text.strip() in {"Background", "Methods", "Results", "Conclusions"}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_sentence_lands_in_its_section(docs: dict[str, Document], name: str) -> None:
    doc = docs[name]
    assert doc.failure is None
    expected = PAGES[name][1]
    got = [
        (doc.span(s.start, s.end), s.section)
        for s in doc.sentences
        if not _headers_only(doc.span(s.start, s.end))
    ]
    assert len(got) == len(expected), got
    for (text, section), (opening, want) in zip(got, expected, strict=True):
        assert text.startswith(opening), (text, opening)
        assert section == want, (text, section, want)
    # Every sentence's section also exists as a labelled (not inferred) section of the page.
    assert {s.key for s in doc.sections if not s.inferred and s.key != "keywords"} == {w for _, w in expected}
