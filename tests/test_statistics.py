"""Statistics extraction: seed abstract, every notation, negatives, offsets, speed."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from abstractpipe.extract.statistics import (
    _FOLD_TABLE,
    _LATEX_SYMBOLS,
    _LIST_JOINTS,
    _UNSIGNED,
    FIELDS,
    StatisticsExtractor,
    _count_after,
    normalise,
)
from abstractpipe.patterns import WordStartPattern
from tests.complexity import growth
from tests.conftest import random_texts

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEED = next((REPO / "tests" / "fixtures" / "seeds" / "pubmed").glob("003_*.txt"))
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared evaluation data is absent")


@pytest.fixture(scope="module")
def extractor() -> StatisticsExtractor:
    rules = yaml.safe_load((REPO / "configs" / "statistics.yaml").read_text(encoding="utf-8"))
    return StatisticsExtractor(rules)


def only(stats: list[dict[str, Any]], measure: str) -> list[dict[str, Any]]:
    return [s for s in stats if s["measure"] == measure]


def check_offsets(text: str, stats: list[dict[str, Any]]) -> None:
    for stat in stats:
        assert set(stat) == set(FIELDS)
        assert text[stat["start"] : stat["end"]] == stat["text"]
    assert stats == sorted(stats, key=lambda s: (s["start"], s["measure"], s["end"], s["value"]))


# ---------------------------------------------------------------- the seed abstract


def seed_paragraphs() -> tuple[str, str]:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    english = next(line for line in lines if line.startswith("BACKGROUND:"))
    chinese = next(line for line in lines if line.startswith("结果:"))
    return english, chinese


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_seed_abstract(extractor: StatisticsExtractor, lang: str) -> None:
    english, chinese = seed_paragraphs()
    text = english if lang == "en" else chinese
    stats = extractor.find(text, lang)
    check_offsets(text, stats)
    wmd = only(stats, "WMD")
    assert [(s["value"], s["ci_level"], s["ci_low"], s["ci_high"], s["p_op"], s["p_value"]) for s in wmd] == [
        (-0.28, 0.95, -0.53, -0.03, "=", 0.028),
        (-0.34, 0.95, -1.05, 0.38, "=", 0.357),
    ]
    assert [s["value"] for s in only(stats, "I2")] == [0.0, 98.0]
    assert [(s["value"], s["unit"]) for s in only(stats, "n")] == [(30.0, "study")]
    assert [s["value"] for s in only(stats, "percent")] == [19.11]
    # The p-values belong to the estimates; the CI bounds and I² values are not percents.
    assert only(stats, "p") == []
    assert len(stats) == 6


def test_seed_whole_page_has_no_stray_numbers(extractor: StatisticsExtractor) -> None:
    text = SEED.read_text(encoding="utf-8")
    stats = extractor.find(text, "en")
    check_offsets(text, stats)
    # Two languages x six statistics; no year, DOI, volume or citation date.
    assert len(stats) == 12
    assert {s["measure"] for s in stats} == {"WMD", "I2", "n", "percent"}


# ---------------------------------------------------------------- notations

NOTATIONS = [
    ("OR 2.1, 95% CI 1.3-3.4", "en", ("OR", 2.1, 0.95, 1.3, 3.4, None, None)),
    ("(HR = 0.72; 95 % CI: 0.55 to 0.94; P = .02)", "en", ("HR", 0.72, 0.95, 0.55, 0.94, "=", 0.02)),
    ("WMD -0.28; 95 % CI -0.53 to -0.03", "en", ("WMD", -0.28, 0.95, -0.53, -0.03, None, None)),
    ("加权均数差为-0.28，95%置信区间(CI)-0.53 至-0.03", "zh", ("WMD", -0.28, 0.95, -0.53, -0.03, None, None)),
    ("OR=6.77，95%CI(4.39,10.43)", "zh", ("OR", 6.77, 0.95, 4.39, 10.43, None, None)),
    ("RR 0.8 [0.6, 1.1]", "en", ("RR", 0.8, None, 0.6, 1.1, None, None)),
    ("SMD −1.05 (95% CI −1.90 to 0.38)", "en", ("SMD", -1.05, 0.95, -1.9, 0.38, None, None)),
    ("MD = −0.55, 95% CI −2.00–0.90; p = 0.45", "en", ("MD", -0.55, 0.95, -2.0, 0.9, "=", 0.45)),
    ("风险比为0.65（95%可信区间：0.48～0.88，P＝0.005）", "zh", ("HR", 0.65, 0.95, 0.48, 0.88, "=", 0.005)),
    ("比值比 1.85 (95% CI 1.32~2.59)", "zh", ("OR", 1.85, 0.95, 1.32, 2.59, None, None)),
    ("odds ratio 0·65 (95% CI 0·48–0·88)", "en", ("OR", 0.65, 0.95, 0.48, 0.88, None, None)),
    ("hazard ratio [HR] = 0.278, 95% confidence interval [CI] 0.188–0.409, p < 0.0001", "en",
     ("HR", 0.278, 0.95, 0.188, 0.409, "<", 0.0001)),
    ("relative risk of admission was 0.83 (0.56-1.24, P=.37)", "en", ("RR", 0.83, None, 0.56, 1.24, "=", 0.37)),
    ("risk difference, −5.5 percentage points; 95% CI, −11.6 to 0.6", "en", ("RD", -5.5, 0.95, -11.6, 0.6, None, None)),
    ("ROC曲线下面积为0.842(95%CI:0.789～0.895)", "zh", ("AUC", 0.842, 0.95, 0.789, 0.895, None, None)),
    ("OR 0.72, 95% CrI 0.58-0.89", "en", ("OR", 0.72, 0.95, 0.58, 0.89, None, None)),
    ("RR 1.31 (95% UI 1.12 to 1.52)", "en", ("RR", 1.31, 0.95, 1.12, 1.52, None, None)),
    ("$\\mathrm { H R } { = } 0 . 6 5$ , $9 5 \\% \\mathrm { C I } \\colon 0 . 4 8 \\sim 0 . 8 8$ , $P { = } 0 . 0 0 5$", "zh",
     ("HR", 0.65, 0.95, 0.48, 0.88, "=", 0.005)),
]  # fmt: skip


@pytest.mark.parametrize(("text", "lang", "expected"), NOTATIONS)
def test_estimate_notations(extractor: StatisticsExtractor, text: str, lang: str, expected: tuple) -> None:
    stats = extractor.find(text, lang)
    check_offsets(text, stats)
    assert len(stats) == 1, stats
    s = stats[0]
    assert (
        s["measure"],
        s["value"],
        s["ci_level"],
        s["ci_low"],
        s["ci_high"],
        s["p_op"],
        s["p_value"],
    ) == expected


P_VALUES = [
    ("significantly lower (P<0.05).", "en", "<", 0.05),
    ("差异有统计学意义(p 值=0.028)", "zh", "=", 0.028),
    ("not significant (p-value = 0.028)", "en", "=", 0.028),
    ("did not differ (P = 0,022)", "en", "=", 0.022),
    ("were different (P less than 0.05)", "en", "<", 0.05),
    ("低于对照组(Ｐ＜０.０１)", "zh", "<", 0.01),
    ("低于对照组 $( P { < } 0 . 0 5 )$ ，", "zh", "<", 0.05),
    ("合并效应显著(P<0.000 01)", "zh", "<", 0.00001),
    ("higher (P ≤ .001)", "en", "<=", 0.001),
]


@pytest.mark.parametrize(("text", "lang", "op", "value"), P_VALUES)
def test_standalone_p(extractor: StatisticsExtractor, text: str, lang: str, op: str, value: float) -> None:
    stats = extractor.find(text, lang)
    check_offsets(text, stats)
    assert [(s["measure"], s["op"], s["value"]) for s in stats] == [("p", op, pytest.approx(value))]


def test_p_inside_estimate_clause_is_attached(extractor: StatisticsExtractor) -> None:
    text = "The incidence rate ratio was 0.38 [95% CI: 0.20 – 0.76, p = 0.006] overall and 0.07 (95% CI: 0.01–0.57, p=0.013) in the elderly."
    stats = extractor.find(text, "en")
    assert [(s["measure"], s["value"], s["ci_low"], s["p_value"]) for s in stats] == [
        ("IRR", 0.38, 0.2, 0.006),
        ("IRR", 0.07, 0.01, 0.013),
    ]


def test_p_after_percent_is_separate(extractor: StatisticsExtractor) -> None:
    stats = extractor.find("compared to 78 of 402 new users (19.4%, P = 0.944)", "en")
    assert [(s["measure"], s["value"], s["unit"]) for s in stats] == [
        ("n", 78.0, "user"),
        ("n", 402.0, "user"),
        ("percent", 19.4, None),
        ("p", 0.944, None),
    ]


def test_values_ending_a_sentence(extractor: StatisticsExtractor) -> None:
    """A full stop after a value ends the sentence; only a digit after the dot continues the number."""
    text = "The number needed to treat was 7. In controls n = 13. The odds ratio was 2.5. It gave t = 2.10. RD was 3.2%."
    stats = extractor.find(text, "en")
    check_offsets(text, stats)
    assert [(s["measure"], s["value"]) for s in stats] == [
        ("NNT", 7.0),
        ("n", 13.0),
        ("OR", 2.5),
        ("t", 2.1),
        ("RD", 3.2),
    ]
    assert extractor.find("Version OR 1.2.3 of the tool; t = 4.5.6 is a date.", "en") == []


def test_credible_and_uncertainty_intervals(extractor: StatisticsExtractor) -> None:
    text = "The 95% UI was wide; mortality was 12% (95% UI 8 to 15) and the 95% CrI excluded one."
    stats = extractor.find(text, "en")
    assert [(s["measure"], s["value"], s["ci_low"], s["ci_high"]) for s in stats] == [
        ("percent", 12.0, 8.0, 15.0)
    ]


def test_degrees_of_freedom_between_a_test_and_its_p(extractor: StatisticsExtractor) -> None:
    text = (
        "(χ2 = 1.2, df = 2, p = 0.55); 共纳入χ2=4.21，自由度=1，P=0.04; F = 3.2 with df = 2 and 57 (p = 0.02)"
    )
    stats = extractor.find(text, "zh")
    check_offsets(text, stats)
    got = [(s["measure"], s["value"], s["p_value"]) for s in stats]
    assert got == [("chi2", 1.2, 0.55), ("chi2", 4.21, 0.04), ("F", 3.2, None), ("p", 0.02, None)]


def test_test_statistics_take_their_p(extractor: StatisticsExtractor) -> None:
    text = "(F(2, 45) = 3.10, p = .05); (t = 2.31, p = 0.03); (χ²=4.32，P=0.038); (r = 0.45, p < 0.01); (Z=-2.87，P=0.004); (β=0.31，95%CI：0.12～0.50)"
    stats = extractor.find(text, "zh")
    got = [(s["measure"], s["value"], s["p_value"], s["ci_low"]) for s in stats]
    assert got == [
        ("F", 3.1, 0.05, None),
        ("t", 2.31, 0.03, None),
        ("chi2", 4.32, 0.038, None),
        ("r", 0.45, 0.01, None),
        ("z", -2.87, 0.004, None),
        ("beta", 0.31, None, 0.12),
    ]


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("heterogeneity was low (I2 = 12%)", [12.0]),
        ("(I^2 = 76%, P for heterogeneity < 0.001)", [76.0]),
        ("各研究间异质性较低(I²=21%)", [21.0]),
        ("heterogeneity $I ^ { 2 } = 3 4 \\%$ .", [34.0]),
        ("pooled WMD was -0.2 (95% CI -0.5 to 0.1, I = 40 %)", [40.0]),
    ],
)
def test_i2(extractor: StatisticsExtractor, text: str, values: list[float]) -> None:
    stats = extractor.find(text, "en")
    check_offsets(text, stats)
    assert [s["value"] for s in only(stats, "I2")] == values


def test_bare_i_needs_heterogeneity_context(extractor: StatisticsExtractor) -> None:
    assert only(extractor.find("Grade I = 20% of the sample had mild lesions.", "en"), "I2") == []


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("A total of 949 patients were randomised.", "en", [(949.0, "patient")]),
        (
            "Of 3,412 eligible patients, 1,706 were assigned to apixaban.",
            "en",
            [(3412.0, "patient"), (1706.0, "patient")],
        ),
        ("in the control group (n = 13)", "en", [(13.0, None)]),
        ("13 SCI patients were assessed", "en", [(13.0, "patient")]),
        ("We found 43 clinical trials and 30 studies.", "en", [(43.0, "trial"), (30.0, "study")]),
        ("19 of 22 (86.3%) subjects", "en", [(19.0, "subject"), (22.0, "subject")]),
        ("共1076例患者", "zh", [(1076.0, "patient")]),
        ("对 30 项研究进行综合分析", "zh", [(30.0, "study")]),
        ("共招募120名受试者", "zh", [(120.0, "participant")]),
        ("其中护士312名", "zh", [(312.0, "nurse")]),
        ("共计12 480例患者", "zh", [(12480.0, "patient")]),
        # thousands grouped by a space (plain, thin or no-break), in Lancet/BMJ style
        ("A total of 18 345 participants were included.", "en", [(18345.0, "participant")]),
        (
            "in 53\u2009456 persons and 1\u00a0204 patients",
            "en",
            [(53456.0, "individual"), (1204.0, "patient")],
        ),
        ("the intervention group (n = 9 172)", "en", [(9172.0, None)]),
        # ... but not a number ending a list or range before it
        ("Between weeks 4 and 12 120 patients dropped out.", "en", [(120.0, "patient")]),
        ("In 2019 345 patients were enrolled.", "en", [(345.0, "patient")]),
        ("观察组38例、对照组36例", "zh", [(38.0, "patient"), (36.0, "patient")]),
    ],
)
def test_counts(extractor: StatisticsExtractor, text: str, lang: str, expected: list) -> None:
    stats = only(extractor.find(text, lang), "n")
    check_offsets(text, stats)
    assert [(s["value"], s["unit"]) for s in stats] == expected


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("The mean age of participants was 54.2 years.", "en", [("mean", 54.2)]),
        (
            "The mean and median survival time was 31.06 and 17.76 vs. 21.07 and 12.63 months.",
            "en",
            [("mean", 31.06), ("median", 17.76), ("mean", 21.07), ("median", 12.63)],
        ),
        ("The mean follow-up in group 1 and group 2 was 22 ± 1 months and 21 ± 1.6 months.", "en",
         [("mean", 22.0), ("mean", 21.0)]),
        ("观察组平均年龄(54.2±6.3)岁", "zh", [("mean", 54.2)]),
        ("中位生存期分别为18.6个月和14.2个月", "zh", [("median", 18.6), ("median", 14.2)]),
        # the group named after each value: up to five words before the coordinator
        ("Pain fell by a mean of 2.8 points in the usual care group and 0.9 points with placebo.", "en",
         [("mean", 2.8), ("mean", 0.9)]),
        # a unit after the SD in brackets
        ("Mean (SD) HbA1c fell by 1.4 (0.8)% with tirzepatide vs 0.9 (0.7)% with insulin.", "en",
         [("mean", 1.4), ("mean", 0.9)]),
        ("Mean NRS score did not differ at 4 weeks.", "en", []),
        ("The weighted mean difference was not estimated.", "en", []),
    ],
)  # fmt: skip
def test_means_and_medians(extractor: StatisticsExtractor, text: str, lang: str, expected: list) -> None:
    stats = [s for s in extractor.find(text, lang) if s["measure"] in ("mean", "median")]
    check_offsets(text, stats)
    assert [(s["measure"], s["value"]) for s in stats] == expected


def test_percents_results_not_thresholds(extractor: StatisticsExtractor) -> None:
    text = "Patients with HbA1c of more than 7.5% were excluded; 52.5% vs. 10.0% had anemia (95% CI for the difference 30.1-55.0)."
    stats = extractor.find(text, "en")
    assert [s["value"] for s in only(stats, "percent")] == [52.5, 10.0]
    zh = "观察组不良反应发生率为８.３％，低于对照组的２１.７％。术前采用0.5%碘伏消毒。"
    assert [s["value"] for s in only(extractor.find(zh, "zh"), "percent")] == [8.3, 21.7]


def test_percent_with_ci(extractor: StatisticsExtractor) -> None:
    stats = extractor.find("戒烟成功率为32.6%(95%CI：28.1%～37.4%)", "zh")
    assert [(s["measure"], s["value"], s["ci_low"], s["ci_high"]) for s in stats] == [
        ("percent", 32.6, 28.1, 37.4)
    ]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Patients were enrolled between March 2015 and June 2018 at 12 centres.", "en"),
        ("Participants aged 18–65 years were eligible.", "en"),
        ("They received 5 mg/kg every 12 weeks for 6–12 months.", "en"),
        ("Mult Scler Relat Disord. 2024 Jul;87:105681. doi: 10.1016/j.msard.2024.105681.", "en"),
        ("as described previously [12], see section 3.4 and Table 2", "en"),
        ("纳入标准：年龄18～75岁；病程≥3个月。", "zh"),
        ("选取2019年1月至2021年12月我院收治的患者，口服阿托伐他汀20 mg/d，连续治疗12周。", "zh"),
        ("检验水准α=0.05，以P<0.05为差异有统计学意义。", "zh"),
        ("P < 0.05 was considered statistically significant.", "en"),
    ],
)
def test_not_statistics(extractor: StatisticsExtractor, text: str, lang: str) -> None:
    assert extractor.find(text, lang) == []


# ---------------------------------------------------------------- normalisation, speed


def test_normalise_maps_back_into_the_original() -> None:
    text = "总有效率 $( 9 0 . 6 \\%$ vs $P { < } 0 . 0 5 )$ 。"
    norm = normalise(text)
    assert "(90.6%" in norm.text and "P<0.05)" in norm.text
    start = norm.text.index("90.6")
    original_start, original_end = norm.span(start, start + 4)
    assert text[original_start:original_end] == "9 0 . 6"


def _normalise_char_by_char(text: str) -> tuple[str, list[int], list[int]]:
    """The plain reading of ``normalise``: one token at a time, one character at a time."""
    token_re = re.compile(r"\\?\$|\\([A-Za-z]+|[%~$_&#{}]|[ ,:;!])|[{}^_~]|\s+|.", re.S)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def emit(chars: str, start: int, end: int) -> None:
        for char in chars:
            out.append(char)
            starts.append(start)
            ends.append(end)

    in_math = False
    for match in token_re.finditer(text):
        token = match.group(0)
        start, end = match.span()
        if token in ("$", "\\$"):
            in_math = not in_math
        elif not in_math:
            if token.startswith("\\") and len(token) == 2 and token[1] in "%~$_&#*[]{}":
                emit(token[1], start, end)
            else:
                emit(token, start, end)
        elif match.group(1) is not None:
            if match.group(1) in _LATEX_SYMBOLS:
                emit(_LATEX_SYMBOLS[match.group(1)], start, end)
            elif match.group(1) in (" ", ",", ":", ";", "!"):
                emit(" ", start, end)
        elif token == "~":
            emit(" ", start, end)
        elif not (token in "{}^_" or token.isspace()):
            emit(token, start, end)
    return "".join(out).translate(_FOLD_TABLE), starts, ends


def test_normalise_agrees_with_a_char_by_char_reading() -> None:
    """``normalise`` copies runs of text whole; it must map exactly as one character at a time."""
    pieces = ["$", "\\$", "\\", "\\pm", "\\leq", "\\mathrm", "\\%", "\\_", "\\ ", "\\,", "\\*",
              "{", "}", "^", "_", "~", " ", "  ", "\n", "\u3000", "\u00a0 ", "9", "0", ".", "P", "<", "＜",
              "％", "，", "（", "−", "ab", "中文", "·", "x\u2009y", "\t\t"]  # fmt: skip
    texts = ["总有效率 $( 9 0 . 6 \\%$ vs $P { < } 0 . 0 5 )$ 。", "no maths here, ＜0.05", ""]
    texts += random_texts(pieces, 5000, seed=11, fewest=1, most=30)
    for text in texts:
        norm = normalise(text)
        expected_text, starts, ends = _normalise_char_by_char(text)
        assert norm.text == expected_text, text
        if norm.starts is not None:  # else no markup: offsets are the text's own
            assert (norm.starts, norm.ends) == (starts, ends), text


def test_offsets_on_pdf_maths(extractor: StatisticsExtractor) -> None:
    text = "观察组 $( n { = } 6 4 )$ 的总有效率高于对照组 $( 9 0 . 6 \\%$ vS $7 5 . 0 \\%$ $P { < } 0 . 0 5 )$ 。"
    stats = extractor.find(text, "zh")
    check_offsets(text, stats)
    assert [(s["measure"], s["value"]) for s in stats] == [
        ("n", 64.0),
        ("percent", 90.6),
        ("percent", 75.0),
        ("p", 0.05),
    ]
    assert stats[-1]["text"] == "P { < } 0 . 0 5"


def test_deterministic_and_linear(extractor: StatisticsExtractor) -> None:
    english, chinese = seed_paragraphs()
    sentences = [*english.split(". "), *chinese.split("。")] * 120  # ~2,000 sentences
    first = [extractor.find(s, "en") for s in sentences]
    assert first == [extractor.find(s, "en") for s in sentences]
    # Its speed is the benchmarks'; here, 8x the sentences must be ~8x the work, never more.
    assert growth(lambda times: [extractor.find(s, "en") for s in sentences[:250] * times], 1, 8) < 9


def _random_statistics_texts(seed: int, count: int) -> list[str]:
    pieces = ["1", "23", "1,234", "12 345", "0.05", ".5", "٣", "%", " ", ",", ".", "-", "_", "a", "OR", "or",
              "HR", "hazard ratio", "p", "P", "P值", "=", "<", "n", "N", "I2", "I", "t", "F", "χ2", "mean", "Mean",
              "median", "patients", "例", "名患者", "i2", "i", "T", "f", "ı", "İ", "(", ")", "95% CI", "为", "were randomized", "of", "\n", " and ", "–", "4 to "]  # fmt: skip
    english, chinese = seed_paragraphs()
    return [english, chinese, *random_texts(pieces, count, seed=seed, fewest=1, most=25)]


def test_fast_forms_of_the_patterns_find_what_their_plain_forms_find(extractor: StatisticsExtractor) -> None:
    """Patterns rewritten so that re can skip ahead must match exactly as their plain forms."""
    texts = _random_statistics_texts(8, 3000)
    pairs: list[tuple[Any, re.Pattern[str]]] = [
        (extractor._percent_re, re.compile(rf"(?<![A-Za-z0-9_.])(?P<value>{_UNSIGNED})\s*%")),
    ]
    for not_after, thousands in ((r"A-Za-z0-9_.,\-", ","), (r"\d.", " ,")):
        rest = r"(?P<rest>(?![\d.,]\d)\s*[a-z%]*)"
        plain = rf"(?<![{not_after}])(?P<value>\d{{1,3}}(?:[{thousands}]\d{{3}})+|\d+)"
        pairs.append(
            (re.compile(rf"(?P<value>{_count_after(not_after, thousands)}){rest}"), re.compile(plain + rest))
        )
    # With spaced groups: the plain form checks the list joints before the whole number.
    joints = "".join(rf"(?<!\d{re.escape(joint)})" for joint in _LIST_JOINTS)
    spaced = rf"(?<![A-Za-z0-9_.,\-])(?P<value>\d{{1,3}}(?:,\d{{3}})+|{joints}\d{{1,3}}(?:[ ]\d{{3}})+|\d+)"
    fast = _count_after(r"A-Za-z0-9_.,\-", ",", spaced=" ")
    pairs.append((re.compile(rf"(?P<value>{fast}){rest}"), re.compile(spaced + rest)))
    pairs += [
        (scanner, scanner.pattern)
        for scanner in vars(extractor).values()
        if isinstance(scanner, WordStartPattern)
    ]
    assert len(pairs) > 8
    for fast, plain in pairs:
        found = 0
        for text in texts:
            expected = [(m.span(), m.groupdict()) for m in plain.finditer(text)]
            assert [(m.span(), m.groupdict()) for m in fast.finditer(text)] == expected, (
                plain.pattern[:50],
                text,
            )
            found += len(expected)
        assert found, plain.pattern[:50]


def test_interval_scan_matches_a_full_scan(extractor: StatisticsExtractor) -> None:
    """``_intervals`` starts from the CI labels; it must find what scanning every position finds."""
    rng = random.Random(6)
    choices = [
        ["", "OR ", "HR was ", "abc", "1.5", "2.3 ", "mm Hg", " mmHg", "kg ", "days", "d"],
        ["", " ", "%", ", ", "; ", "(", "[", " (", "95% ", "90.5 % ", "95%"],
        ["CI", "CIs", "Cl", "confidence interval", "置信区间为", "credible interval", "CI (Cl)", "ci"],
        ["", ": ", " = ", " was ", ", ", "为", " ("],
        ["1.2", "-0.5", "3", ".5"],
        [" to ", "-", "–", ", ", "~", " and ", "至"],
        ["2.5", "4", "-0.1"],
        ["", ")", "%)", "])", "]", ")) ", " x"],
    ]
    english, chinese = seed_paragraphs()
    texts = [english, chinese]
    for _ in range(3000):
        texts.append("".join(rng.choice(c) for _ in range(rng.randint(1, 4)) for c in choices))
    found = 0
    for text in texts:
        work = normalise(text).text
        expected = [(m.span(), m.groupdict()) for m in extractor._ci_re.finditer(work)]
        assert [(m.span(), m.groupdict()) for m in extractor._intervals(work)] == expected, text
        found += len(expected)
    assert found > 3000


# ---------------------------------------------------------------- dev sets


def _f1(extractor: StatisticsExtractor, path: Path) -> float:
    tp = n_gold = n_pred = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        passage = json.loads(line)
        predicted = [
            (s["measure"], round(s["value"], 6)) for s in extractor.find(passage["text"], passage["lang"])
        ]
        n_pred += len(predicted)
        for gold in passage["stats"]:
            key = (gold["measure"], round(float(gold["value"]), 6))
            if key in predicted:
                predicted.remove(key)
                tp += 1
        n_gold += len(passage["stats"])
    precision, recall = tp / n_pred, tp / n_gold
    return 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize("name", ["dev.en.jsonl", "dev.zh.jsonl"])
def test_own_dev_sets(extractor: StatisticsExtractor, name: str) -> None:
    assert _f1(extractor, REPO / "tests" / "fixtures" / "statistics" / name) >= 0.92


@needs_shared
def test_shared_dev_set(extractor: StatisticsExtractor) -> None:
    assert _f1(extractor, SHARED / "eval" / "stats" / "dev.en.jsonl") >= 0.95


def test_degree_letters_with_affiliation_marks_are_not_estimates(extractor: StatisticsExtractor) -> None:
    found = extractor.find("Eleanor M. Hartley, MD, PhD1; Daniel C. Okafor, MD4 and Sara Lindqvist", "en")
    assert [s for s in found if s["measure"] == "MD"] == []


def test_ci_label_search_finds_the_label_starts_of_the_plain_pattern(extractor: StatisticsExtractor) -> None:
    # _intervals reads only where a CI label starts: the flat label search must find the
    # same starts as the label pattern _ci_re is built from (case-sensitive labels plus any
    # case of "confidence interval").
    rules = yaml.safe_load((REPO / "configs" / "statistics.yaml").read_text(encoding="utf-8"))
    labels = "|".join(re.escape(label).replace(r"\ ", r"\s+") for label in rules["ci_labels"])
    plain = re.compile(rf"(?:{labels}|(?i:confidence\s+intervals?))")
    # Under (?i) only "C" and "c" match "c" (the flat search leans on it).
    assert [chr(c) for c in range(0x110000) if re.match("(?i:c)", chr(c))] == ["C", "c"]
    pieces = ["CI", "CIs", "Cl", "ci", "cI", "C I", "CONFIDENCE INTERVAL", "Confidence\n intervals",
              "confidence  Interval", "credible interval", "Credible interval", "置信区间为", "可信区间",
              "置信", "c", "C", "onfidence", " ", "95%", "(", "ÇI", "ĊI", "x"]  # fmt: skip
    texts = random_texts(pieces, 3000, seed=7, fewest=1, most=11)
    for text in [*texts, *pieces]:
        starts = [pos for pos in range(len(text)) if plain.match(text, pos)]
        found, pos = [], 0
        while (label := extractor._ci_label_re.search(text, pos)) is not None:
            found.append(label.start())
            pos = label.start() + 1
        assert found == starts, text


def test_passes_skipped_without_their_literal_cannot_match_without_it(extractor: StatisticsExtractor) -> None:
    # find skips the percent and lost-I² passes on a text without "%", the n pass without "=".
    pieces = ["%", "％", "=", "＝", "I", "I²", "n", "N", " ", "12", "3.5", ":", "(", "was", "of", "p", "–"]
    for text in random_texts(pieces, 3000, seed=11, fewest=1, most=9):
        work = normalise(text).text
        for pattern, literal in (
            (extractor._percent_re, "%"),
            (extractor._lost_i2_re, "%"),
            (extractor._n_re, "="),
        ):
            for match in pattern.finditer(work):
                assert literal in match.group(), (work, literal)


def test_i2_and_chinese_count_passes_skip_only_texts_they_cannot_match(
    extractor: StatisticsExtractor,
) -> None:
    # _i2 skips a text holding no I² label's first character; _counts the Chinese pattern on ASCII.
    assert extractor._i2_firsts == ("I",) and extractor._zh_nouns_cjk
    pieces = ["I", "i", "I²", "I2", "I^2", " = ", "45", "%", "例", "名患者", "12", " ", "项研究", "of", "was"]
    for text in random_texts(pieces, 3000, seed=19, fewest=1, most=8):
        work = normalise(text).text
        if not any(char in work for char in extractor._i2_firsts):
            assert not list(extractor._i2_re.finditer(work)), work
        if work.isascii():
            assert not list(extractor._count_zh_re.finditer(work)), work


def test_texts_without_a_digit_are_skipped_exactly(
    extractor: StatisticsExtractor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``may_hold_statistics`` False must mean that the full passes find nothing either."""
    import abstractpipe.extract.statistics as statistics

    texts = _random_statistics_texts(21, 2000)
    texts += [text.translate(str.maketrans("", "", "0123456789")) for text in texts[:1500]]
    texts += ["٣ patients", "P = ٠.٠٥", "OR 1.5", "", "mean", "(95% CI)"]
    shortcut = [extractor.find(text, lang) for text in texts for lang in ("en", "zh")]
    skipped = sum(not statistics.may_hold_statistics(text) for text in texts)
    assert skipped > 500
    for text in texts[:300]:
        for start in range(0, len(text) + 1, 7):
            for end in (start, start + 5, len(text)):
                assert statistics.may_hold_statistics(text, start, end) == any(
                    char.isdigit() or re.fullmatch(r"\d", char) is not None for char in text[start:end]
                )
    monkeypatch.setattr(statistics, "may_hold_statistics", lambda text, start=0, end=None: True)
    assert [extractor.find(text, lang) for text in texts for lang in ("en", "zh")] == shortcut


def test_count_passes_skip_only_texts_without_their_nouns_or_verbs(extractor: StatisticsExtractor) -> None:
    """_counts scans for Chinese counts only where a noun of theirs is, for verb counts only where a
    verb of theirs follows a space: no match may lack it."""
    pieces = ["12", "1,234", "3 4", " ", "\n", "\u3000", "例", "名", "名患者", "项研究", "患者", "were", "Were",
              "randomized", "RANDOMISED", "were randomised", "WERE  ENROLLED", "completed the study", "x",
              "were\tincluded", "ſ", "K", "例患者", ".", "40 were randomized", " were Enrolled", "7\u3000were analysed"]  # fmt: skip
    texts = random_texts(pieces, 4000, seed=23, fewest=1, most=10)
    found = {"zh": 0, "verb": 0}
    for text in texts:
        work = normalise(text).text
        for key, pattern, need in (
            ("zh", extractor._count_zh_re, extractor._zh_noun_re),
            ("verb", extractor._count_verb_re, extractor._count_verb_need_re),
        ):
            matches = list(pattern.finditer(work))
            found[key] += len(matches)
            if need.search(work) is None:
                assert not matches, (key, work)
            for match in matches:
                assert need.search(work, match.start(), match.end()), (key, work)
    assert min(found.values()) > 100, found


def test_one_scan_for_the_word_led_patterns_finds_what_each_finds(extractor: StatisticsExtractor) -> None:
    """find reads the estimate, test and p matches from one WordStartPatterns scan."""
    assert extractor._word_led._any is not None  # the one-scan path, not a pattern-by-pattern fallback
    patterns = [extractor._estimate_re, extractor._test_re, extractor._p_re]
    assert extractor._word_led.patterns == patterns
    found = [0, 0, 0]
    pieces = ["t = 2.3", "F(2, 45) = 3.1", "χ2=4.5", "P = 0.03", "p<0.001", "P值=0.02", "OR 1.2", "HR=0.7",
              "at", "pt", " ", "(", ")", ",", "a", "1", "[", "P", "t", "F"]  # fmt: skip
    texts = [*_random_statistics_texts(27, 2000), *random_texts(pieces, 2000, seed=28, fewest=1, most=8)]
    for text in texts:
        work = normalise(text).text
        each = extractor._word_led.finditer_each(work)
        for index, (pattern, matches) in enumerate(zip(patterns, each, strict=True)):
            expected = [(m.span(), m.groupdict()) for m in pattern.finditer(work)]
            assert [(m.span(), m.groupdict()) for m in matches] == expected, (index, work)
            found[index] += len(expected)
    assert min(found) > 100, found


def test_plural_estimate_names_are_names(extractor: StatisticsExtractor) -> None:
    # "hazard ratios were" is as much a name as "hazard ratio was"
    text = "Adjusted hazard ratios were 1.32 (95% CI, 1.10 to 1.58) for diabetes; odds ratios were 0.64 (0.51-0.80)."
    stats = extractor.find(text, "en")
    check_offsets(text, stats)
    assert [(s["measure"], s["value"], s["ci_low"], s["ci_high"]) for s in stats] == [
        ("HR", 1.32, 1.10, 1.58),
        ("OR", 0.64, 0.51, 0.80),
    ]


def test_noun_less_count_pair_takes_the_noun_of_the_pair_it_is_coordinated_with(
    extractor: StatisticsExtractor,
) -> None:
    text = "Remission occurred in 68 of 120 (56.7%) vs. 45 of 118 (38.1%) participants."
    stats = only(extractor.find(text, "en"), "n")
    check_offsets(text, stats)
    assert [(s["value"], s["unit"]) for s in stats] == [
        (68.0, "participant"),
        (120.0, "participant"),
        (45.0, "participant"),
        (118.0, "participant"),
    ]
    # not across a clause: the earlier pair has no noun of its own
    assert len(only(extractor.find("It was 3 of 10 in 2019; later 45 of 118 patients.", "en"), "n")) == 2


def test_words_between_an_estimate_and_its_interval(extractor: StatisticsExtractor) -> None:
    text = (
        "Symptoms eased (mean difference, -0.9 points on a 7-point scale; 95% CI, -1.5 to -0.3; P = 0.004)."
    )
    stats = extractor.find(text, "en")
    check_offsets(text, stats)
    assert [(s["measure"], s["value"], s["ci_low"], s["ci_high"], s["p_value"]) for s in stats] == [
        ("MD", -0.9, -1.5, -0.3, 0.004)
    ]
    # ... but not across a value of its own: that interval is not the first estimate's
    text = "The odds ratio was 1.8 for women and 1.2 for men, 95% CI 1.0 to 1.4."
    assert [s["ci_low"] for s in only(extractor.find(text, "en"), "OR")] == [None]


def test_negative_percent_keeps_its_sign(extractor: StatisticsExtractor) -> None:
    text = "Body weight changed by -9.6% with tirzepatide and -1.8% with placebo; 5-10% was the target."
    stats = only(extractor.find(text, "en"), "percent")
    check_offsets(text, stats)
    assert [(s["value"], s["text"]) for s in stats] == [(-9.6, "-9.6%"), (-1.8, "-1.8%")]


def test_plural_estimate_abbreviations_are_names(extractor: StatisticsExtractor) -> None:
    text = "Adjusted HRs were 1.45 (95% CI 1.12-1.88) for stroke and aORs were 2.02 (95% CI 1.31-3.11)."
    stats = extractor.find(text, "en")
    check_offsets(text, stats)
    assert [(s["measure"], s["value"], s["ci_low"]) for s in stats] == [
        ("HR", 1.45, 1.12),
        ("OR", 2.02, 1.31),
    ]


def test_the_sd_after_a_plus_minus_is_no_percent(extractor: StatisticsExtractor) -> None:
    text = "HbA1c was 7.9 ± 1.1% at baseline; 38.5% ± 4.0% reached the target."
    stats = only(extractor.find(text, "en"), "percent")
    check_offsets(text, stats)
    assert [s["value"] for s in stats] == [38.5]


def test_a_count_with_its_share_before_the_verb(extractor: StatisticsExtractor) -> None:
    text = "Of 318 women approached, 254 (79.9%) were enrolled and 231 (90.9%) completed the study."
    stats = only(extractor.find(text, "en"), "n")
    check_offsets(text, stats)
    assert [(s["value"], s["unit"]) for s in stats] == [(318.0, "woman"), (254.0, "woman"), (231.0, "woman")]


def test_a_count_with_its_share_before_its_total(extractor: StatisticsExtractor) -> None:
    text = "Bleeding occurred in 41 (3.4%) of 1,190 patients given rivaroxaban and 58 (4.9%) of 1,184 given aspirin."
    stats = only(extractor.find(text, "en"), "n")
    check_offsets(text, stats)
    assert [(s["value"], s["unit"]) for s in stats] == [
        (41.0, "patient"),
        (1190.0, "patient"),
        (58.0, "patient"),
        (1184.0, "patient"),
    ]


def test_a_bare_interval_continues_the_estimate_of_its_clause(extractor: StatisticsExtractor) -> None:
    text = "Odds ratios were 1.62 (1.20-2.19) for obesity and 1.15 (0.91-1.45) for overweight."
    stats = extractor.find(text, "en")
    check_offsets(text, stats)
    assert [(s["measure"], s["value"], s["ci_low"], s["ci_high"], s["text"][-4:]) for s in stats] == [
        ("OR", 1.62, 1.20, 2.19, "2.19"),
        ("OR", 1.15, 0.91, 1.45, "1.45"),
    ]
    # a value named by another word is not the estimate's
    text = "The OR was 1.5 (1.1-2.0) and the median score 12 (10-14)."
    assert [s["measure"] for s in extractor.find(text, "en")] == ["OR", "median"]


def test_a_bare_number_coordinated_with_a_count_counts_its_noun(extractor: StatisticsExtractor) -> None:
    text = (
        "We recorded 17 deaths with early surgery and 29 with delayed surgery; 14 patients in 2019 and 2020."
    )
    stats = only(extractor.find(text, "en"), "n")
    check_offsets(text, stats)
    assert [(s["value"], s["unit"]) for s in stats] == [(17.0, "death"), (29.0, "death"), (14.0, "patient")]


def test_an_interval_span_ends_on_its_bound(extractor: StatisticsExtractor) -> None:
    text = "The mean difference was 2.2 mm Hg (95% CI, 0.9-3.5 mm Hg)."
    (stat,) = extractor.find(text, "en")
    assert stat["text"].endswith("0.9-3.5") and stat["ci_high"] == 3.5


def test_a_count_of_the_total(extractor: StatisticsExtractor) -> None:
    text = "Allocation was concealed in 9 of the 14 trials."
    stats = only(extractor.find(text, "en"), "n")
    check_offsets(text, stats)
    assert [(s["value"], s["unit"]) for s in stats] == [(9.0, "trial"), (14.0, "trial")]


def test_an_unlabelled_interval_around_a_percent_is_its_ci(extractor: StatisticsExtractor) -> None:
    text = "Specificity was 84% (79% to 88%); 12% (3-5) was not an interval of it."
    stats = only(extractor.find(text, "en"), "percent")
    check_offsets(text, stats)
    assert [(s["value"], s["ci_low"], s["ci_high"]) for s in stats] == [
        (84.0, 79.0, 88.0),
        (12.0, None, None),
    ]
