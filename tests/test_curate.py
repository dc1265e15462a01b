"""The corrections overlay: the curate step, the file format and ``abstractpipe curate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from abstractpipe.cli import main
from abstractpipe.config import Config, ConfigError
from abstractpipe.curate import CurateStep, import_decisions, load_corrections, make_correction
from abstractpipe.document import Document, Source

SHA = "1" * 64
OTHER_SHA = "2" * 64


def overlay(tmp_path: Path, entries: list[dict]) -> Config:
    path = tmp_path / "corrections.yaml"
    path.write_text(yaml.safe_dump({"corrections": entries}, allow_unicode=True), encoding="utf-8")
    return Config(data={"curate": {"corrections": str(path)}}, base_dir=tmp_path)


def document(sha256: str = SHA) -> Document:
    doc = Document(id="rec1", source=Source(path="pubmed/a.txt", site="pubmed", sha256=sha256))
    doc.fields = {
        "title": {"en": "Wrong title", "zh": "标题"},
        "metadata": {"doi": "10.1/wrong", "year": 2020, "authors": ["A"]},
        "page_sections": {"key_findings": ["one", "two"], "simple_explanation": "text"},
    }
    return doc


def entry(field: str, action: str = "set", value: object = None, sha256: str = SHA) -> dict:
    base = {"id": "rec1", "field": field, "action": action, "curator": "ann", "sha256": sha256}
    if action == "set":
        base["value"] = value
    return base


def test_step_sets_and_rejects_fields_and_marks_them_curated(tmp_path: Path) -> None:
    config = overlay(
        tmp_path,
        [
            entry("metadata.doi", value="10.1/right"),
            entry("sections.zh.results", value="结果更正"),
            entry("page_sections.key_findings", "reject"),
            {**entry("title.en", value="Right title"), "note": "from the PDF"},
        ],
    )
    step = CurateStep(config)
    doc = step.process(document())
    assert doc.fields["metadata"] == {"doi": "10.1/right", "year": 2020, "authors": ["A"]}
    assert doc.fields["sections"] == {"zh": {"results": "结果更正"}}
    assert doc.fields["page_sections"] == {"simple_explanation": "text"}
    assert doc.fields["title"]["en"] == "Right title"
    assert [(c["field"], c["action"], c["note"]) for c in doc.fields["curated"]] == [
        ("metadata.doi", "set", None),
        ("page_sections.key_findings", "reject", None),
        ("sections.zh.results", "set", None),
        ("title.en", "set", "from the PDF"),
    ]
    assert doc.warnings == [] and step.summary_lines() == []


def test_a_changed_source_makes_the_correction_stale_not_applied(tmp_path: Path) -> None:
    step = CurateStep(overlay(tmp_path, [entry("metadata.doi", value="10.1/right", sha256=OTHER_SHA)]))
    doc = step.process(document())
    assert doc.fields["metadata"]["doi"] == "10.1/wrong" and doc.fields["curated"] == []
    assert [w["code"] for w in doc.warnings] == ["stale_correction"]
    assert doc.warnings[0]["detail"].startswith("metadata.doi (set by ann) not applied: the source changed")
    assert step.summary_lines() == [
        "stale correction: rec1 metadata.doi (pubmed/a.txt): source changed since the correction, not applied"
    ]


def test_a_value_that_does_not_fit_the_schema_warns_instead_of_quarantining(tmp_path: Path) -> None:
    step = CurateStep(overlay(tmp_path, [entry("metadata.year", value="not a year")]))
    doc = step.process(document())
    assert doc.failure is None and doc.fields["metadata"]["year"] == 2020
    assert [w["code"] for w in doc.warnings] == ["invalid_correction"]
    assert step.summary_lines()[0].startswith("invalid correction: rec1 metadata.year:")


def test_missing_overlay_is_empty_and_changes_to_it_are_picked_up(tmp_path: Path) -> None:
    config = Config(data={"curate": {"corrections": str(tmp_path / "absent.yaml")}}, base_dir=tmp_path)
    step = CurateStep(config)
    assert step.process(document()).fields["metadata"]["doi"] == "10.1/wrong"
    (tmp_path / "absent.yaml").write_text(
        yaml.safe_dump({"corrections": [entry("metadata.doi", value="10.1/x")]})
    )
    assert step.process(document()).fields["metadata"]["doi"] == "10.1/x"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (entry("text", value="x"), "cannot correct field 'text'"),
        (entry("metadata.doi.x", value="x"), "inside a value"),
        (entry("metadata.nope", value="x"), "no field 'nope'"),
        ({**entry("metadata.doi", value="x"), "sha256": "abc"}, "sha256 must be 64 hex digits"),
        ({**entry("metadata.doi", value="x"), "action": "delete"}, "action must be set or reject"),
        ({k: v for k, v in entry("metadata.doi", value="x").items() if k != "curator"}, "missing curator"),
    ],
)
def test_bad_overlay_entries_are_config_errors(tmp_path: Path, bad: dict, message: str) -> None:
    config = overlay(tmp_path, [bad])
    with pytest.raises(ConfigError, match=message):
        load_corrections(Path(config.data["curate"]["corrections"]))


def test_curate_commands_manage_the_overlay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "curation" / "corrections.yaml"
    common = ["--corrections", str(path), "--sha256", SHA, "--curator", "ann"]
    assert main(["curate", "set", "rec1", "metadata.year", "2021", *common]) == 0
    assert main(["curate", "set", "rec1", "title.en", "Yes", *common, "--note", "short title"]) == 0
    assert main(["curate", "set", "rec1", "metadata.authors", "[Li W, Chen X]", *common]) == 0
    assert main(["curate", "reject", "rec2", "sections.en.results", *common]) == 0
    assert main(["curate", "set", "rec1", "metadata.year", "abc", *common]) == 2  # not a year
    assert main(["curate", "set", "rec1", "text", "x", *common]) == 2  # not correctable
    corrections = {c.key: c for c in load_corrections(path)}
    assert corrections[("rec1", "metadata.year")].value == 2021
    assert corrections[("rec1", "title.en")].value == "Yes"  # YAML's true, meant as text
    assert corrections[("rec1", "metadata.authors")].value == ["Li W", "Chen X"]
    assert corrections[("rec2", "sections.en.results")].action == "reject"
    assert path.read_text(encoding="utf-8").startswith("# abstractpipe corrections")
    capsys.readouterr()
    assert main(["curate", "list", "--corrections", str(path), "--id", "rec1"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0] == f'rec1 metadata.authors set = ["Li W", "Chen X"]  by ann  sha256 {SHA[:12]}'
    assert len(listed) == 3
    assert main(["curate", "remove", "rec1", "metadata.year", "--corrections", str(path)]) == 0
    assert main(["curate", "remove", "rec1", "metadata.year", "--corrections", str(path)]) == 2
    assert ("rec1", "metadata.year") not in {c.key for c in load_corrections(path)}


def test_import_turns_report_decisions_into_corrections(tmp_path: Path) -> None:
    existing = [
        make_correction("rec3", "metadata.doi", "set", "bob", OTHER_SHA, "10.1/b"),
        make_correction("rec4", "title.en", "reject", "bob", OTHER_SHA),
    ]
    stats_old = [{"measure": "OR", "value": 1.5, "lang": "en", "text": "OR 1.5", "start": 0, "end": 6}]
    decisions = {
        "format": "abstractpipe-decisions",
        "decisions": [
            {"id": "rec1", "path": "metadata.doi", "field": "metadata.doi", "decision": "keep_old", "value": "10.1/a", "sha256": SHA, "curator": "ann"},
            {"id": "rec1", "path": "statistics[OR 1.5 en].ci_low", "field": "statistics", "decision": "keep_old", "value": stats_old, "sha256": SHA, "curator": "ann"},
            {"id": "rec1", "path": "statistics[HR 2 en]", "field": "statistics", "decision": "keep_old", "value": stats_old, "sha256": SHA, "curator": "ann"},
            {"id": "rec2", "path": "title.en", "field": "title.en", "decision": "clear", "sha256": SHA, "curator": "ann"},
            {"id": "rec2", "path": "page_sections.key_findings[1]", "field": "page_sections.key_findings", "decision": "accept", "sha256": SHA},
            {"id": "rec2", "path": "page_sections.key_findings[2]", "field": "page_sections.key_findings", "decision": "clear", "sha256": SHA, "curator": "ann"},
            {"id": "rec3", "path": "stale:metadata.doi", "field": "metadata.doi", "decision": "reconfirm", "sha256": SHA, "curator": "ann"},
            {"id": "rec4", "path": "stale:title.en", "field": "title.en", "decision": "drop", "sha256": SHA},
        ],
    }  # fmt: skip
    outcome = import_decisions(existing, decisions)
    stored = {c.key: c for c in outcome.corrections}
    assert sorted(stored) == [
        ("rec1", "metadata.doi"),
        ("rec1", "statistics"),
        ("rec2", "title.en"),
        ("rec3", "metadata.doi"),
    ]
    assert stored[("rec1", "statistics")].value[0]["ci_low"] is None  # stored as the record holds it
    assert stored[("rec2", "title.en")].action == "reject"
    assert (
        stored[("rec3", "metadata.doi")].sha256 == SHA and stored[("rec3", "metadata.doi")].curator == "ann"
    )
    assert outcome.problems == ["rec2 page_sections.key_findings: conflicting decisions (accept, clear)"]
    with pytest.raises(ValueError, match="not a decisions file"):
        import_decisions([], {"decisions": []})


def test_curate_import_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "corrections.yaml"
    decisions = tmp_path / "decisions.json"
    decisions.write_text(
        json.dumps(
            {
                "format": "abstractpipe-decisions",
                "decisions": [
                    {
                        "id": "rec1",
                        "path": "title.zh",
                        "field": "title.zh",
                        "decision": "keep_old",
                        "value": "旧标题",
                        "sha256": SHA,
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    assert main(["curate", "import", str(decisions), "--corrections", str(path)]) == 1  # no curator named
    assert load_corrections(path) == []
    assert main(["curate", "import", str(decisions), "--corrections", str(path), "--curator", "ann"]) == 0
    (correction,) = load_corrections(path)
    assert (correction.field, correction.value, correction.curator) == ("title.zh", "旧标题", "ann")
    assert "旧标题" in path.read_text(encoding="utf-8")  # stays readable for hand edits


def test_a_new_correction_reaches_an_incremental_run(tmp_path: Path) -> None:
    """Editing only the overlay must not leave kept shards with the old records."""
    import shutil

    from tests.conftest import SEEDS

    raw = tmp_path / "raw"
    shutil.copytree(SEEDS / "pubmed", raw / "pubmed")
    corrections = tmp_path / "corrections.yaml"
    out = tmp_path / "out"
    args = ["run", "--raw", str(raw), "--out", str(out), "--set", f"curate.corrections={corrections}"]
    assert main(args) == 0
    record = json.loads(next(line for p in (out / "records").glob("part-*.jsonl") for line in p.open()))
    corrections.write_text(
        yaml.safe_dump(
            {
                "corrections": [
                    {
                        "id": record["id"],
                        "field": "metadata.journal",
                        "action": "set",
                        "value": "Multiple Sclerosis and Related Disorders",
                        "curator": "ann",
                        "sha256": record["source"]["sha256"],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    assert main(args) == 0
    again = json.loads(next(line for p in (out / "records").glob("part-*.jsonl") for line in p.open()))
    assert again["metadata"]["journal"] == "Multiple Sclerosis and Related Disorders"
    assert [c["field"] for c in again["curated"]] == ["metadata.journal"]
