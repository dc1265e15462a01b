"""abstractpipe diff: two real runs with a config change, compared record by record."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from abstractpipe.cli import main
from abstractpipe.diff import Run, diff_runs, diff_values, load_run

from .conftest import REPO, SEEDS

CONFIG = str(REPO / "configs" / "default.yaml")
PUBMED = "pubmed/003_207fb85fdc7ef63b.txt"
SUMMARY = "researchsummaries/000_f94bfd277bcc8f77.txt"


def ids_by_path(out: Path) -> dict[str, dict]:
    return {r["source"]["path"]: r for r in load_run(out).records.values()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run 1: the seeds, no corrections.  Run 2: corrections switched on in the config, the clinic
    page moved to another site (one removed, one added record).  Run 3: the PubMed page edited."""
    base = tmp_path_factory.mktemp("diff")
    raw = base / "raw"
    shutil.copytree(SEEDS, raw)
    first = base / "run1"
    assert (
        main(
            [
                "run",
                CONFIG,
                "--raw",
                str(raw),
                "--out",
                str(first),
                "--set",
                f"curate.corrections={base / 'none.yaml'}",
            ]
        )
        == 0
    )
    records = ids_by_path(first)
    pubmed, summary = records[PUBMED], records[SUMMARY]
    corrections = base / "corrections.yaml"
    overlay = ["--corrections", str(corrections), "--records", str(first), "--curator", "ann"]
    assert (
        main(["curate", "set", pubmed["id"], "metadata.doi", "10.1000/fixed", *overlay, "--note", "typo"])
        == 0
    )
    assert main(["curate", "set", pubmed["id"], "title.en", "A corrected title", *overlay]) == 0
    assert main(["curate", "reject", summary["id"], "page_sections.key_findings", *overlay]) == 0
    (raw / "clinic").rename(raw / "clinic-moved")
    second = base / "run2"
    assert (
        main(
            [
                "run",
                CONFIG,
                "--raw",
                str(raw),
                "--out",
                str(second),
                "--set",
                f"curate.corrections={corrections}",
            ]
        )
        == 0
    )
    page = raw / PUBMED
    page.write_text(
        page.read_text(encoding="utf-8").replace("As alternative treatments", "As alternative therapies"),
        encoding="utf-8",
    )
    third = base / "run3"
    assert (
        main(
            [
                "run",
                CONFIG,
                "--raw",
                str(raw),
                "--out",
                str(third),
                "--set",
                f"curate.corrections={corrections}",
            ]
        )
        == 0
    )
    return {"run1": first, "run2": second, "run3": third, "base": base}


def test_two_runs_with_a_config_change_give_exact_counts_and_paths(runs: dict[str, Path]) -> None:
    result = diff_runs(load_run(runs["run1"]), load_run(runs["run2"]))
    assert result.counts() == {"added": 1, "removed": 1, "changed": 2, "unchanged": 2}
    first = ids_by_path(runs["run1"])
    by_id = {r.id: r for r in result.records}
    assert by_id[first["clinic/004_50e99ab7af3fb43d.txt"]["id"]].kind == "removed"
    assert [r.source_path for r in result.of_kind("added")] == ["clinic-moved/004_50e99ab7af3fb43d.txt"]
    assert [(c.path, c.kind) for c in by_id[first[PUBMED]["id"]].changes] == [
        ("curated[metadata.doi]", "added"),
        ("curated[title.en]", "added"),
        ("metadata.doi", "changed"),
        ("title.en", "added"),
    ]
    assert [(c.path, c.kind) for c in by_id[first[SUMMARY]["id"]].changes] == [
        ("curated[page_sections.key_findings]", "added"),
        ("page_sections.key_findings", "removed"),
    ]
    doi = by_id[first[PUBMED]["id"]].changes[2]
    assert doi.old == first[PUBMED]["metadata"]["doi"] and doi.new == "10.1000/fixed"
    assert result.field_counts() == {
        "curated": 2,
        "metadata.doi": 1,
        "page_sections.key_findings": 1,
        "title.en": 1,
    }
    assert result.site_counts() == {
        "clinic": {"removed": 1},
        "clinic-moved": {"added": 1},
        "pubmed": {"changed": 1},
        "researchsummaries": {"changed": 1},
    }
    assert [c.path for c in result.config_changes] == ["curate.corrections"]
    lines = result.summary_lines()
    assert "added 1, removed 1, changed 2, unchanged 2" in lines
    assert any(line.startswith("  curate.corrections: ") and "none.yaml" in line for line in lines)


def test_corrections_survive_the_re_run_and_are_marked(runs: dict[str, Path]) -> None:
    second = ids_by_path(runs["run2"])
    assert second[PUBMED]["metadata"]["doi"] == "10.1000/fixed"
    assert second[PUBMED]["title"]["en"] == "A corrected title"
    assert second[PUBMED]["curated"] == [
        {"field": "metadata.doi", "action": "set", "curator": "ann", "note": "typo"},
        {"field": "title.en", "action": "set", "curator": "ann", "note": None},
    ]
    assert "key_findings" not in second[SUMMARY]["page_sections"]
    assert "simple_explanation" in second[SUMMARY]["page_sections"]  # only the rejected field goes


def test_a_changed_source_makes_its_corrections_stale_and_visible(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    third = ids_by_path(runs["run3"])
    pubmed = third[PUBMED]
    assert pubmed["metadata"]["doi"] != "10.1000/fixed" and pubmed["curated"] == []
    stale = [w for w in pubmed["warnings"] if w["code"] == "stale_correction"]
    assert [w["detail"].split(" ")[0] for w in stale] == ["metadata.doi", "title.en"]
    assert "key_findings" not in third[SUMMARY]["page_sections"]  # its page did not change
    capsys.readouterr()
    json_out = runs["base"] / "diff.jsonl"
    code = main(["diff", str(runs["run2"]), str(runs["run3"]), "--json", str(json_out)])
    out = capsys.readouterr().out
    assert code == 1
    assert "stale corrections in the new run: 2" in out
    assert f"  {pubmed['id']} metadata.doi (set by ann) not applied" in out
    lines = [json.loads(line) for line in json_out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["kind"]) for r in lines] == [(pubmed["id"], "changed")]
    assert len(lines[0]["stale_corrections"]) == 2
    paths = {c["path"] for c in lines[0]["changes"]}
    assert {"source.sha256", "metadata.doi", "title.en", "curated[metadata.doi]"} <= paths


def test_the_run_summary_lists_stale_corrections(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    corrections = runs["base"] / "corrections.yaml"
    out_dir = runs["base"] / "run3-again"
    main(
        [
            "run",
            CONFIG,
            "--raw",
            str(runs["base"] / "raw"),
            "--out",
            str(out_dir),
            "--set",
            f"curate.corrections={corrections}",
        ]
    )
    out = capsys.readouterr().out
    pubmed_id = ids_by_path(out_dir)[PUBMED]["id"]
    for field in ("metadata.doi", "title.en"):
        assert f"stale correction: {pubmed_id} {field} ({PUBMED}): source changed since the correction" in out
    assert load_run(out_dir).records == load_run(runs["run3"]).records


def test_fields_and_site_filters_and_stable_json(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = load_run(runs["run1"]), load_run(runs["run2"])
    assert diff_runs(old, new, fields=["metadata"]).counts() == {
        "added": 1,
        "removed": 1,
        "changed": 1,
        "unchanged": 3,
    }
    only_site = diff_runs(old, new, site="researchsummaries")
    assert only_site.counts() == {"added": 0, "removed": 0, "changed": 1, "unchanged": 2}
    capsys.readouterr()
    single = runs["base"] / "run2-single.jsonl"  # a record file instead of a folder
    parts = sorted((runs["run2"] / "records").glob("*.jsonl"))
    single.write_text("".join(p.read_text(encoding="utf-8") for p in parts), encoding="utf-8")
    assert (
        main(
            [
                "diff",
                str(runs["run1"] / "records"),
                str(single),
                "--json",
                "-",
            ]
        )
        == 1
    )
    first = capsys.readouterr().out
    main(["diff", str(runs["run1"]), str(runs["run2"]), "--json", "-"])
    assert capsys.readouterr().out == first  # folder, records/ or file: same lines, same bytes
    lines = [json.loads(line) for line in first.splitlines()]
    assert sorted(r["kind"] for r in lines) == ["added", "changed", "changed", "removed"]
    assert [r["id"] for r in lines] == sorted(r["id"] for r in lines)
    assert main(["diff", str(runs["run1"]), str(runs["run1"])]) == 0


def test_html_report_from_the_command_line(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    report = runs["base"] / "report.html"
    assert main(["diff", str(runs["run1"]), str(runs["run2"]), "--html", str(report)]) == 1
    page = report.read_text(encoding="utf-8")
    assert '<span class="count" id="count-changed">2</span>' in page
    assert "curate.corrections" in page


def test_lists_are_matched_by_content_not_position() -> None:
    old = {
        "statistics": [
            {"measure": "n", "value": 30.0, "lang": "en", "start": 5},
            {"measure": "OR", "value": 1.5, "lang": "en", "ci_low": 1.1, "start": 40},
            {"measure": "OR", "value": 1.5, "lang": "en", "ci_low": 1.2, "start": 90},
        ],
        "sentences": {"zh": ["背景。", "方法。", "结果。"]},
        "metadata": {"authors": ["Li W", "Chen X"]},
    }
    new = {
        "statistics": [
            {"measure": "p", "value": 0.01, "lang": "zh", "start": 2},
            {"measure": "n", "value": 30.0, "lang": "en", "start": 5},
            {"measure": "OR", "value": 1.5, "lang": "en", "ci_low": 1.1, "start": 40},
            {"measure": "OR", "value": 1.5, "lang": "en", "ci_low": 1.3, "start": 90},
        ],
        "sentences": {"zh": ["前言。", "背景。", "方法。", "结果有变。"]},
        "metadata": {"authors": ["Wang Y", "Li W", "Chen X"]},
    }
    assert [(c.path, c.kind) for c in diff_values(old, new)] == [
        ("metadata.authors[0]", "added"),
        ("sentences.zh[0]", "added"),
        ("sentences.zh[3]", "changed"),
        ("statistics[p 0.01 zh]", "added"),
        ("statistics[OR 1.5 en #2].ci_low", "changed"),
    ]
    result = diff_runs(
        Run("a", {"x": {"id": "x", "source": {"site": "s"}, **old}}, None),
        Run("b", {"x": {"id": "x", "source": {"site": "s"}, **new}}, None),
    )
    assert result.field_counts() == {
        "metadata.authors": 1,
        "sentences.zh": 1,
        "statistics": 1,
        "statistics.ci_low": 1,
    }
    assert "config: run.json missing on one side, not compared" in result.summary_lines()


def test_config_lines_say_when_the_code_changed() -> None:
    info = {"package_version": "0.1.0", "schema_version": "1.0.0", "config": {"a": 1}, "config_sha256": "c"}
    old = Run("old", {}, {**info, "code_sha256": "1" * 64})
    same = Run("same", {}, {**info, "code_sha256": "1" * 64})
    new = Run("new", {}, {**info, "code_sha256": "2" * 64})
    assert diff_runs(old, same).config_lines() == ["config: same (config_sha256 equal)"]
    assert diff_runs(old, new).config_lines() == [
        "config changes (run.json):",
        "  code changed (code_sha256 differs: the package's files)",
    ]
