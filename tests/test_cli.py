"""End-to-end tests of the command line on the seed pages and the sample pages in raw/."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from abstractpipe.cli import main

from .conftest import REPO, SEEDS


def read_records(out: Path) -> dict[str, dict]:
    records = {}
    for part in sorted((out / "records").glob("part-*.jsonl")):
        for line in part.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            records[record["source"]["path"]] = record
    return records


def by_prefix(records: dict[str, dict], prefix: str) -> dict:
    (match,) = [r for path, r in records.items() if path.startswith(prefix)]
    return match


def stats_of(record: dict, lang: str, measure: str) -> list[dict]:
    return [s for s in record["statistics"] if s["lang"] == lang and s["measure"] == measure]


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, Path]:
    """The five seed pages plus a binary page, an empty page and a corrupt gzip."""
    raw = tmp_path_factory.mktemp("raw")
    shutil.copytree(SEEDS, raw, dirs_exist_ok=True)
    (raw / "broken").mkdir()
    (raw / "broken" / "blob.html").write_bytes(bytes(range(256)) * 8)
    (raw / "broken" / "empty.txt").write_bytes(b"")
    (raw / "broken" / "truncated.html.gz").write_bytes(gzip.compress(b"<html><body><p>x</p>" * 50)[:40])
    out = tmp_path_factory.mktemp("out")
    code = main(["run", str(REPO / "configs" / "default.yaml"), "--raw", str(raw), "--out", str(out)])
    return code, raw, out


def test_bad_pages_are_quarantined_with_reasons_and_the_rest_still_runs(seed_run) -> None:
    code, _, out = seed_run
    assert code == 1
    quarantine = [json.loads(x) for x in (out / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()]
    reasons = {q["path"]: (q["stage"], q["error"]) for q in quarantine}
    assert set(reasons) == {"broken/blob.html", "broken/empty.txt", "broken/truncated.html.gz"}
    assert reasons["broken/empty.txt"] == ("ingest", "empty file")
    assert reasons["broken/blob.html"][0] == "ingest" and "binary" in reasons["broken/blob.html"][1]
    assert "gzip" in reasons["broken/truncated.html.gz"][1].lower()
    records = read_records(out)
    assert len(records) == 5
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert (stats["pages"], stats["records"], stats["quarantined"]) == (8, 5, 3)


def test_records_validate(seed_run) -> None:
    _, _, out = seed_run
    assert main(["validate", str(out)]) == 0


def test_research_summary_pages_lose_navigation_and_keep_content(seed_run) -> None:
    records = read_records(seed_run[2])
    for name in ["000_", "001_", "002_"]:
        record = by_prefix(records, f"researchsummaries/{name}")
        text = record["text"]
        for boilerplate in [
            "Quick Links",
            "All rights reserved",
            "© 2025",
            "Making Spinal Cord Injury (SCI) Research Accessible",
            "Was this summary helpful?",
            "Your Feedback",
            "Back to ",
            "AboutCategoriesLatest ResearchContact",
        ]:
            assert boilerplate not in text, (name, boilerplate)
        for heading in ["Simple Explanation", "Key Findings", "Research Summary", "Study Limitations"]:
            assert heading in text, (name, heading)
        assert record["languages"] == ["en"]
        assert record["source"]["site"] == "researchsummaries"
    first = by_prefix(records, "researchsummaries/000_")
    assert first["title"]["en"] == (
        "Mesenchymal stem cell-based therapies for treating well-studied neurological disorders: a systematic review"
    )
    metadata = first["metadata"]
    assert (metadata["journal"], metadata["year"]) == ("Frontiers in Medicine", 2024)
    assert (metadata["doi"], metadata["published"]) == ("10.3389/fmed.2024.1361723", "2024-03-27")
    assert len(first["page_sections"]["key_findings"]) == 3
    assert first["page_sections"]["key_findings"][0].startswith("The review of 43 studies showed")
    assert "Eight studies showed no improvement" in first["page_sections"]["key_findings"][2]
    second = by_prefix(records, "researchsummaries/001_")
    assert second["metadata"]["doi"] == "10.1186/s12967-021-02843-0"
    assert second["metadata"]["published"] == "2021-05-07"
    assert second["page_sections"]["participants"] == "949 patients with SCI"
    assert len(second["page_sections"]["study_limitations"]) == 3


def test_bilingual_pubmed_seed(seed_run) -> None:
    record = by_prefix(read_records(seed_run[2]), "pubmed/003_")
    assert record["languages"] == ["en", "zh"]
    canonical = ["background", "objective", "methods", "results", "conclusions"]
    for lang in ["en", "zh"]:
        assert [k for k in canonical if record["sections"][lang].get(k)] == canonical, lang
    assert record["sections"]["en"]["objective"] == (
        "This review delves into the literature on the efficacy and safety of MSC therapy for pwMS."
    )
    assert record["sections"]["zh"]["objective"] == "本综述深入探讨了 MSCs 治疗 pwMS 的疗效和安全性的文献。"
    assert "Cochrane Database Syst Rev" not in record["text"]
    # sections aligned in order, sentence links cover the abstract and pair the -0.28 sentences
    assert record["alignment"]["sections"] == [[k, k] for k in canonical]
    en, zh = record["sentences"]["en"], record["sentences"]["zh"]
    links = record["alignment"]["sentences"]
    linked = [(i, j) for link in links for i in link["en"] for j in link["zh"]]
    wmd_en = next(i for i, s in enumerate(en) if "-0.28" in s)
    wmd_zh = next(j for j, s in enumerate(zh) if "-0.28" in s)
    assert (wmd_en, wmd_zh) in linked
    metadata = record["metadata"]
    assert (metadata["journal"], metadata["year"], metadata["volume"], metadata["pages"]) == (
        "Mult Scler Relat Disord",
        2024,
        "87",
        "105681",
    )
    assert metadata["doi"] == "10.1016/j.msard.2024.105681"
    # the statistics the issue names, in both languages, with offsets into text
    for lang in ["en", "zh"]:
        wmd = sorted(stats_of(record, lang, "WMD"), key=lambda s: s["value"])
        assert [(s["value"], s["ci_low"], s["ci_high"], s["p_value"]) for s in wmd] == [
            (-0.34, -1.05, 0.38, 0.357),
            (-0.28, -0.53, -0.03, 0.028),
        ], lang
        assert all(s["ci_level"] == 0.95 for s in wmd)
        assert sorted(s["value"] for s in stats_of(record, lang, "I2")) == [0, 98], lang
        assert [(s["value"], s["unit"]) for s in stats_of(record, lang, "n")] == [(30, "study")], lang
        assert [s["value"] for s in stats_of(record, lang, "percent")] == [19.11], lang
    for stat in record["statistics"]:
        assert record["text"][stat["start"] : stat["end"]] == stat["text"]


def test_clinic_page_loses_share_bar_and_skip_link(seed_run) -> None:
    record = by_prefix(read_records(seed_run[2]), "clinic/004_")
    text = record["text"]
    assert "Skip to main content" not in text
    assert "Share on:" not in text
    assert text.startswith("A new study from Yale University")
    assert "Mesenchymal stems cells were first discovered in the bone marrow." in text
    assert any(s["measure"] == "n" and s["value"] == 13 for s in record["statistics"])


def test_runs_are_byte_identical(seed_run, tmp_path: Path) -> None:
    _, raw, first = seed_run
    second = tmp_path / "again"
    main(["run", str(REPO / "configs" / "default.yaml"), "--raw", str(raw), "--out", str(second)])
    for name in ["records/part-00000.jsonl", "quarantine.jsonl", "stats.json", "run.json"]:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_sample_pages_in_raw_all_become_valid_records(tmp_path: Path) -> None:
    code = main(["run", "--raw", str(REPO / "raw"), "--out", str(tmp_path), "--set", "run.shards=3"])
    assert code == 0, (tmp_path / "quarantine.jsonl").read_text(encoding="utf-8")
    assert main(["validate", str(tmp_path)]) == 0
    records = read_records(tmp_path)
    assert len(records) == len([p for p in (REPO / "raw").rglob("*") if p.is_file() and p.suffix != ".json"])
    gbk = [r for r in records.values() if r["source"]["encoding"] == "gb18030"]
    assert gbk, "the GBK sample page was not decoded as GBK"
    assert all("zh" in r["languages"] and "\ufffd" not in r["text"] for r in gbk)
    # both abstracts of each bilingual sample page are kept, found and aligned
    for prefix in ["pubmed-mirror/", "cn-journal/"]:
        record = by_prefix(records, prefix)
        for lang in ["en", "zh"]:
            found = {k for k, v in record["sections"][lang].items() if v}
            assert {"objective", "methods", "results", "conclusions"} <= found, (prefix, lang, found)
        assert len(record["alignment"]["sections"]) >= 4, prefix
        assert record["alignment"]["sentences"], prefix
    journal = by_prefix(records, "journal.example.org/jcim-2025-0418")
    assert journal["source"]["url"].startswith("https://journal.example.org/")
    assert journal["source"]["site"] == "journal.example.org"
    assert not [s for s in journal["statistics"] if s["section"] is None and s["measure"] == "MD"]
    run = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert run["config"]["run"]["shards"] == 3
    assert len(list((tmp_path / "records").glob("part-*.jsonl"))) <= 3
    assert len(run["config_sha256"]) == 64


def test_usage_and_config_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--raw", str(tmp_path / "absent")]) == 2
    assert "raw folder not found" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "none.yaml")]) == 2
    assert main(["run", "--set", "broken"]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("pipeline: [ingest, nosuchstep]\n", encoding="utf-8")
    assert main(["run", str(bad), "--raw", str(REPO / "raw"), "--out", str(tmp_path / "o")]) == 2
    assert "unknown pipeline step 'nosuchstep'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--no-such-flag"])
    assert exit_info.value.code == 2


def test_schema_command_and_module_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema")
    help_text = subprocess.run(
        [sys.executable, "-m", "abstractpipe", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ["run", "schema", "validate"]:
        assert command in help_text


CHINAXIV = REPO.parent / "shared" / "eval" / "pages" / "chinaxiv"


@pytest.mark.skipif(not CHINAXIV.is_dir(), reason="../shared/eval/pages/chinaxiv is absent")
def test_real_bilingual_preprints_give_both_abstracts_without_the_body(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(CHINAXIV, raw / "chinaxiv")
    out = tmp_path / "out"
    assert main(["run", "--raw", str(raw), "--out", str(out)]) == 0
    records = read_records(out)
    assert len(records) == len(list(CHINAXIV.glob("*.txt")))
    body_markers = ["参考文献", "References", "1 资料与方法", "# 1 ", "关键词", "Key words"]
    for path, record in records.items():
        assert record["languages"] == ["en", "zh"], path
        for lang in ["en", "zh"]:
            sections = {k: v for k, v in record["sections"][lang].items() if v}
            assert {"objective", "methods"} <= set(sections), (path, lang, sorted(sections))
            abstract = " ".join(sections.values())
            assert len(abstract) < 4000, (path, lang, len(abstract))  # a whole paper body is far longer
            assert not any(marker in abstract for marker in body_markers), (path, lang)
        assert ["objective", "objective"] in record["alignment"]["sections"], path
        assert record["alignment"]["sentences"], path
    with_both_titles = [r for r in records.values() if r["title"]["en"] and r["title"]["zh"]]
    assert len(with_both_titles) >= 0.8 * len(records)
