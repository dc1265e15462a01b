from __future__ import annotations

import json
from pathlib import Path

from abstractpipe.document import Alignment, Block, Document, Failure, Sentence, SentenceLink, Source
from abstractpipe.validate import validate_records
from abstractpipe.write import RecordWriter, build_record


def make_doc(doc_id: str, text: str = "Aspirin works.\n\n阿司匹林有效。") -> Document:
    doc = Document(
        id=doc_id,
        source=Source(
            path=f"site/{doc_id}.txt", site="site", sha256="a" * 64, format="text", encoding="utf-8"
        ),
        text=text,
    )
    doc.blocks = [Block(0, 14, lang="en"), Block(16, len(text), lang="zh")]
    doc.sentences = [Sentence(0, 14, "en"), Sentence(16, len(text), "zh")]
    doc.alignment = Alignment(sections=[], sentences=[SentenceLink(en=[0], zh=[0], score=0.912345)])
    doc.fields = {
        "title": {"en": "Aspirin"},
        "statistics": [
            {"measure": "n", "value": 3.0, "unit": "patient", "lang": "en", "text": "3", "start": 0, "end": 1}
        ],
    }
    return doc


def test_build_record_takes_sentences_languages_and_alignment() -> None:
    record = build_record(make_doc("r1"))
    assert record.languages == ["en", "zh"]
    assert record.sentences.en == ["Aspirin works."]
    assert record.sentences.zh == ["阿司匹林有效。"]
    assert record.alignment.sentences[0].score == 0.9123
    assert record.statistics[0].unit == "patient"


def test_writer_sorts_records_splits_parts_and_quarantines(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path, records_per_part=2)
    for doc_id in ["c", "a", "b"]:
        writer.add(make_doc(doc_id))
    failed = make_doc("z")
    failed.failure = Failure(stage="ingest", error="empty file")
    writer.add(failed)
    bad = make_doc("y")
    bad.fields["statistics"][0]["measure"] = "bogus"
    writer.add(bad)
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "part-00009.jsonl").write_text("stale\n", encoding="utf-8")

    parts = writer.write_records()
    writer.write_quarantine()

    assert [p.name for p in parts] == ["part-00000.jsonl", "part-00001.jsonl"]
    assert not (tmp_path / "records" / "part-00009.jsonl").exists()
    ids = [json.loads(line)["id"] for p in parts for line in p.read_text(encoding="utf-8").splitlines()]
    assert ids == ["a", "b", "c"]
    quarantine = [json.loads(line) for line in (tmp_path / "quarantine.jsonl").read_text().splitlines()]
    assert [(q["id"], q["stage"]) for q in quarantine] == [("y", "write"), ("z", "ingest")]
    assert "statistics.0.measure" in quarantine[0]["error"]
    assert quarantine[1]["error"] == "empty file"
    count, problems = validate_records(tmp_path)
    assert (count, problems) == (3, [])


def test_validate_reports_record_and_field(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path)
    writer.add(make_doc("a"))
    (part,) = writer.write_records()
    record = json.loads(part.read_text(encoding="utf-8"))
    record["source"]["sha256"] = "not-a-hash"
    part.write_text(json.dumps(record) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    count, problems = validate_records(part)
    assert count == 2
    assert {(p.record_id, p.field) for p in problems} == {("a", "source.sha256"), ("a", "id")}
    assert "record a: field source.sha256" in str(problems[0])
