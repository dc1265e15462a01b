"""``abstractpipe align`` and ``abstractpipe extract-stats`` through the command line entry point."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from abstractpipe.cli import main

EN = [
    "We enrolled 240 adults with chronic low back pain.",
    "Patients received acupuncture or sham treatment for 8 weeks.",
    "Pain scores fell by 2.4 points with acupuncture and by 1.1 points with sham treatment, "
    "and disability (RMDQ) improved by 3.5 points versus 1.2 points.",
    "Adverse events were mild.",
]
ZH = [
    "我们纳入了 240 名慢性下腰痛成人患者。",
    "患者接受针刺或假针刺治疗 8 周。",
    "针刺组疼痛评分下降 2.4 分，假针刺组下降 1.1 分；",
    "失能评分(RMDQ)分别改善 3.5 分和 1.2 分。",
    "不良事件均较轻微。",
]


def write_lines(path: Path, lines: list[object]) -> Path:
    text = "".join(
        (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines
    )
    path.write_text(text, encoding="utf-8")
    return path


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def covers_every_sentence(row: dict) -> bool:
    en = [k for link in row["links"] for k in link[0]]
    zh = [k for link in row["links"] for k in link[1]]
    return en == list(range(len(row["en"]))) and zh == list(range(len(row["zh"])))


def align(tmp_path: Path, lines: list[object]) -> tuple[int, list[dict]]:
    source = write_lines(tmp_path / "in.jsonl", lines)
    target = tmp_path / "out.jsonl"
    code = main(["align", "--input", str(source), "--output", str(target)])
    return code, read_lines(target)


def test_align_pre_split_and_raw_text(tmp_path: Path) -> None:
    code, rows = align(
        tmp_path,
        [
            {"id": "split", "en": EN, "zh": ZH},
            {
                "id": "raw",
                "en_text": "We enrolled 120 adults. Follow-up lasted 12 months.",
                "zh_text": "我们纳入了120名成人。随访12个月。",
            },
        ],
    )
    assert code == 0
    assert [row["id"] for row in rows] == ["split", "raw"]
    assert rows[0]["links"] == [[[0], [0]], [[1], [1]], [[2], [2, 3]], [[3], [4]]]
    assert rows[1]["en"] == ["We enrolled 120 adults.", "Follow-up lasted 12 months."]
    assert rows[1]["zh"] == ["我们纳入了120名成人。", "随访12个月。"]
    assert rows[1]["links"] == [[[0], [0]], [[1], [1]]]
    for row in rows:
        assert covers_every_sentence(row)
        assert len(row["scores"]) == len(row["links"])
        assert all(0.0 <= score <= 1.0 for score in row["scores"])


def test_align_empty_and_one_sided_inputs(tmp_path: Path) -> None:
    code, rows = align(
        tmp_path,
        [
            {"id": "empty", "en": [], "zh": []},
            {"id": "en-only", "en": EN[:2], "zh": []},
            {"id": "zh-only", "en_text": "", "zh_text": "只有中文摘要。没有英文。"},
        ],
    )
    assert code == 0
    assert rows[0]["links"] == [] and rows[0]["scores"] == []
    assert rows[1]["links"] == [[[0], []], [[1], []]]
    assert rows[2]["en"] == [] and rows[2]["links"] == [[[], [0]], [[], [1]]]


def test_align_long_document_is_one_to_one(tmp_path: Path) -> None:
    en = [f"Outcome {k} improved by {k % 13}.{k % 7} points in the patients studied." for k in range(1000)]
    zh = [f"结局 {k} 在所研究的患者中改善了 {k % 13}.{k % 7} 分。" for k in range(1000)]
    # How the DP grows with the length is tested without a clock in tests/test_align.py.
    code, rows = align(tmp_path, [{"id": "long", "en": en, "zh": zh}])
    assert code == 0
    assert rows[0]["links"] == [[[k], [k]] for k in range(1000)]


def test_align_bad_lines_are_reported_and_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, rows = align(
        tmp_path,
        [
            {"id": "good-1", "en": EN[:1], "zh": ZH[:1]},
            "this is not JSON",
            {"en": EN[:1], "zh": ZH[:1]},
            "",
            {"id": "no-zh", "en": EN[:1]},
            {"id": "bad-type", "en": "one string", "zh": ZH[:1]},
            [1, 2],
            {"id": "good-2", "en": EN[3:4], "zh": ZH[4:5]},
        ],
    )
    assert code == 1
    assert [row["id"] for row in rows] == ["good-1", "good-2"]
    errors = capsys.readouterr().err
    for number, reason in [(2, "not JSON"), (3, "'id'"), (5, "'zh'"), (6, "'en'"), (7, "JSON object")]:
        assert f"line {number}: " in errors and reason in errors
    assert "line 4" not in errors and "line 8" not in errors  # blank lines and good lines pass


def test_align_output_is_deterministic_and_replaces_atomically(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"id": "d", "en": EN, "zh": ZH}])
    target = tmp_path / "out.jsonl"
    target.write_text("old content\n", encoding="utf-8")
    assert main(["align", "--input", str(source), "--output", str(target)]) == 0
    first = target.read_bytes()
    assert main(["align", "--input", str(source), "--output", str(target)]) == 0
    assert target.read_bytes() == first and b"old content" not in first
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_align_stdin_to_stdout(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    line = json.dumps({"id": 7, "en": EN[:2], "zh": ZH[:2]}, ensure_ascii=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(line + "\n"))
    assert main(["align", "--input", "-", "--output", "-"]) == 0
    (row,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert row["id"] == 7 and row["links"] == [[[0], [0]], [[1], [1]]]


def test_align_config_may_be_the_align_rule_file(tmp_path: Path) -> None:
    rules = tmp_path / "align.yaml"
    rules.write_text("link_priors: {1-1: 0.9, 1-0: 0.05, 0-1: 0.05}\n", encoding="utf-8")
    source = write_lines(tmp_path / "in.jsonl", [{"id": "r", "en": EN, "zh": ZH}])
    target = tmp_path / "out.jsonl"
    assert main(["align", "--input", str(source), "--output", str(target), "--config", str(rules)]) == 0
    (row,) = read_lines(target)
    assert covers_every_sentence(row)
    assert all(len(en) <= 1 and len(zh) <= 1 for en, zh in row["links"])


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "out.jsonl")
    assert main(["align", "--input", str(tmp_path / "missing.jsonl"), "--output", out]) == 2
    assert "cannot read" in capsys.readouterr().err
    source = write_lines(tmp_path / "in.jsonl", [{"id": "x", "en": [], "zh": []}])
    assert (
        main(["align", "--input", str(source), "--output", out, "--config", str(tmp_path / "no.yaml")]) == 2
    )
    assert main(["extract-stats", "--input", str(tmp_path / "missing.jsonl"), "--output", out]) == 2
    with pytest.raises(SystemExit) as exited:
        main(["align", "--input", str(source)])  # --output is required
    assert exited.value.code == 2
    assert not Path(out).exists()


def test_extract_stats_english_and_chinese(tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        [
            {"id": "en", "text": "Mortality was lower with the drug (HR 0.72, 95% CI 0.60-0.86; P < 0.001)."},
            {"id": "zh", "text": "用药组死亡率较低（HR 0.72，95% CI 0.60~0.86，P<0.001）。"},
            {"id": "zh-tagged", "text": "两组差异有统计学意义（P=0.03）。", "lang": "zh"},
            {"id": "none", "text": "No numbers here at all."},
        ],
    )
    target = tmp_path / "out.jsonl"
    assert main(["extract-stats", "--input", str(source), "--output", str(target)]) == 0
    rows = read_lines(target)
    assert [row["id"] for row in rows] == ["en", "zh", "zh-tagged", "none"]
    for row in rows[:2]:
        (hr,) = [s for s in row["stats"] if s["measure"] == "HR"]
        assert (hr["value"], hr["ci_level"], hr["ci_low"], hr["ci_high"]) == (0.72, 0.95, 0.6, 0.86)
        assert (hr["p_op"], hr["p_value"]) == ("<", 0.001)
    (p,) = rows[2]["stats"]
    assert (p["measure"], p["op"], p["value"]) == ("p", "=", 0.03)
    assert rows[3]["stats"] == []


def test_extract_stats_bad_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        [
            "{broken",
            {"id": "no-text"},
            {"id": "bad-lang", "text": "P = 0.03", "lang": "fr"},
            {"id": "ok", "text": "P = 0.03"},
        ],
    )
    target = tmp_path / "out.jsonl"
    assert main(["extract-stats", "--input", str(source), "--output", str(target)]) == 1
    assert [row["id"] for row in read_lines(target)] == ["ok"]
    errors = capsys.readouterr().err
    assert "line 1: not JSON" in errors
    assert "line 2: missing field 'text'" in errors
    assert "line 3: field 'lang'" in errors
