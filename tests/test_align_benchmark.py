"""The EN–ZH alignment dev set is well-formed; the benchmark's baseline and scoring are correct."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARK_PATH = REPO / "benchmarks" / "align.py"
DEV_PATH = REPO / "benchmarks" / "data" / "align_dev.jsonl"


def _load_benchmark() -> ModuleType:
    # Loaded from its path: benchmarks/ is a script folder, not an installed package.
    spec = importlib.util.spec_from_file_location("align_benchmark", BENCHMARK_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()


@pytest.fixture(scope="module")
def dev_rows() -> list[dict]:
    return [json.loads(line) for line in DEV_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------------------- dev set


def test_dev_rows_have_the_documented_fields(dev_rows: list[dict]) -> None:
    for row in dev_rows:
        assert set(row) == {"id", "kind", "en", "zh", "links"}, row.get("id")
        assert row["kind"] in ("structured", "unstructured")
        assert all(isinstance(s, str) and s.strip() == s and s for s in row["en"] + row["zh"]), row["id"]


def test_dev_ids_are_unique(dev_rows: list[dict]) -> None:
    ids = [row["id"] for row in dev_rows]
    assert len(ids) == len(set(ids))


def test_every_sentence_is_in_exactly_one_link_in_order(dev_rows: list[dict]) -> None:
    for row in dev_rows:
        en_flat = [i for en, _ in row["links"] for i in en]
        zh_flat = [j for _, zh in row["links"] for j in zh]
        assert en_flat == list(range(len(row["en"]))), row["id"]
        assert zh_flat == list(range(len(row["zh"]))), row["id"]
        assert all(en or zh for en, zh in row["links"]), row["id"]
        assert all(len(en) <= 2 and len(zh) <= 2 for en, zh in row["links"]), row["id"]


def test_dev_set_meets_its_brief() -> None:
    cases = bench.load_cases(DEV_PATH)
    assert not [p for case in cases for p in bench.check_case(case)]
    types = bench.link_type_counts(cases)
    assert len(cases) >= 40
    assert sum(types.values()) >= 400
    for needed in ("1-2", "2-1", "2-2", "1-0", "0-1"):
        assert types.get(needed, 0) >= 1, needed
    assert {case.kind for case in cases} == {"structured", "unstructured"}
    assert max(len(case.en) for case in cases) >= 20
    assert min(len(case.en) for case in cases) <= 5


def test_chinese_side_uses_full_width_punctuation(dev_rows: list[dict]) -> None:
    for row in dev_rows:
        for sentence in row["zh"]:
            assert not sentence.endswith("."), (row["id"], sentence)
            # Clause commas and semicolons are full width; ASCII ones only inside numbers.
            assert ", " not in sentence and "; " not in sentence, (row["id"], sentence)
        assert any("。" in sentence for sentence in row["zh"]), row["id"]


# ---------------------------------------------------------------------------- Gale–Church


def test_gale_church_is_perfect_on_one_to_one_sentences() -> None:
    en = [
        "Patients were randomised.",
        "The primary outcome was mortality at 90 days after discharge from hospital.",
        "No serious adverse events occurred.",
        "Further trials are needed to confirm these findings in a larger and more diverse population.",
    ]
    zh = [
        "患者被随机分组。",
        "主要结局为出院后90 d的死亡率。",
        "未发生严重不良事件。",
        "尚需在更大、更多样化的人群中开展进一步试验以证实上述结果。",
    ]
    links = bench.gale_church(en, zh, c=0.35, s2=1.0)
    assert links == [((0,), (0,)), ((1,), (1,)), ((2,), (2,)), ((3,), (3,))]


def test_gale_church_merges_a_sentence_translated_as_two() -> None:
    en = [
        "Background: sepsis is common.",
        "Patients with septic shock were enrolled in twelve intensive care units and lactate was measured at 0, 2, 6 and 24 hours after admission.",
        "Lactate clearance predicted survival.",
    ]
    zh = [
        "背景：脓毒症很常见。",
        "本研究纳入12个ICU的脓毒性休克患者。",
        "分别于入院后0、2、6和24 h检测血乳酸。",
        "乳酸清除率可预测生存。",
    ]
    links = bench.gale_church(en, zh, c=0.35, s2=1.0)
    assert links == [((0,), (0,)), ((1,), (1, 2)), ((2,), (3,))]


def test_length_model_estimate_is_sensible_on_dev_set() -> None:
    c, s2 = bench.estimate_length_model(bench.load_cases(DEV_PATH))
    assert 0.2 < c < 0.6  # Chinese needs far fewer characters than English
    assert 0.1 < s2 < 10


# ---------------------------------------------------------------------------- scoring

GOLD = [([0], [0]), ([1], [1, 2]), ([2, 3], [3]), ([4], []), ([5], [4])]


def test_perfect_prediction_scores_one() -> None:
    for drop_null in (False, True):
        scores = bench.score_links(GOLD, GOLD, drop_null=drop_null).scores()
        assert all(value == 1.0 for value in scores.values())


def test_strict_and_lax_counts_on_hand_made_prediction() -> None:
    # 0-0 exact; 1-1 and 1-2 split a gold 1-2 (lax hits); 2,3-3 exact; 4 merged into 4,5-4 (lax hit).
    predicted = [([0], [0]), ([1], [1]), ([], [2]), ([2, 3], [3]), ([4, 5], [4])]
    counts = bench.score_links(GOLD, predicted, drop_null=False)
    # predicted: exact {0-0, 23-3}; lax-only {1-1, 45-4}; miss {-2 (null, no overlap)}
    assert (counts.tp_strict, counts.fp_strict) == (2, 3)
    assert (counts.tp_lax, counts.fp_lax) == (4, 1)
    # gold: exact {0-0, 23-3}; lax-only {1-12, 5-4}; miss {4- (null)}
    assert (counts.fn_strict, counts.fn_lax) == (3, 1)
    scores = counts.scores()
    assert scores["strict_p"] == pytest.approx(2 / 5)
    assert scores["strict_r"] == pytest.approx(2 / 5)
    assert scores["strict_f1"] == pytest.approx(0.4)
    assert scores["lax_p"] == pytest.approx(4 / 5)
    assert scores["lax_r"] == pytest.approx(4 / 5)


def test_excluding_null_links_drops_them_from_both_sides() -> None:
    predicted = [([0], [0]), ([1], [1]), ([], [2]), ([2, 3], [3]), ([4, 5], [4])]
    counts = bench.score_links(GOLD, predicted, drop_null=True)
    # predicted without nulls: 0-0, 1-1, 23-3, 45-4; gold without nulls: 0-0, 1-12, 23-3, 5-4
    assert (counts.tp_strict, counts.fp_strict, counts.fn_strict) == (2, 2, 2)
    assert (counts.tp_lax, counts.fp_lax, counts.fn_lax) == (4, 0, 0)


def test_a_shifted_alignment_gets_no_lax_credit() -> None:
    gold = [([0], [0]), ([1], [1]), ([2], [2])]
    shifted = [([0], [1]), ([1], [2]), ([2], [])]
    counts = bench.score_links(gold, shifted, drop_null=False)
    assert counts.tp_lax == 0 and counts.tp_strict == 0
    assert counts.scores()["lax_f1"] == 0.0


def test_synthetic_document_cuts_at_a_gold_link() -> None:
    cases = bench.load_cases(DEV_PATH)
    en, zh = bench.synthetic_document(cases, 250)
    assert len(en) == 250
    assert 200 < len(zh) < 300
    assert en[0] == cases[0].en[0] and zh[0] == cases[0].zh[0]


def test_benchmark_falls_back_to_baseline_without_project_aligner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "abstractpipe.align", ModuleType("abstractpipe.align"))
    aligner, status = bench.load_project_aligner()
    assert aligner is None
    assert "no align_sentences" in status
