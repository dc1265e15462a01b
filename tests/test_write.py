from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from abstractpipe.document import Alignment, Block, Document, Failure, Sentence, SentenceLink, Source
from abstractpipe.validate import validate_records
from abstractpipe.write import ShardWriter, build_record


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


def test_shard_writer_streams_in_id_order_and_quarantines(tmp_path: Path) -> None:
    part = tmp_path / "records" / "part-00000.jsonl"
    with ShardWriter(part) as writer:
        for doc_id in ["a", "b", "c"]:
            writer.add(make_doc(doc_id))
        writer.add(make_doc("c"))  # the same page id twice: the second is quarantined
        bad = make_doc("d")
        bad.fields["statistics"][0]["measure"] = "bogus"
        writer.add(bad)
        failed = make_doc("e")
        failed.failure = Failure(stage="ingest", error="empty file")
        writer.add(failed)
        assert not part.exists()  # nothing visible before commit
        writer.commit()
    ids = [json.loads(line)["id"] for line in part.read_text(encoding="utf-8").splitlines()]
    assert ids == ["a", "b", "c"]
    assert [(q["id"], q["stage"]) for q in writer.quarantine] == [
        ("c", "write"),
        ("d", "write"),
        ("e", "ingest"),
    ]
    assert "duplicate record id c" in writer.quarantine[0]["error"]
    assert "statistics.0.measure" in writer.quarantine[1]["error"]
    assert writer.quarantine[2]["error"] == "empty file"
    assert validate_records(tmp_path) == (3, [])


def test_shard_writer_rejects_out_of_order_and_leaves_nothing_on_error(tmp_path: Path) -> None:
    part = tmp_path / "part-00001.jsonl.gz"
    with pytest.raises(ValueError, match="out of id order"), ShardWriter(part, compress=True) as writer:
        writer.add(make_doc("b"))
        writer.add(make_doc("a"))
    assert list(tmp_path.iterdir()) == []


def test_gzip_parts_are_byte_identical(tmp_path: Path) -> None:
    blobs = []
    for run in ["one", "two"]:
        with ShardWriter(tmp_path / run / "part-00000.jsonl.gz", compress=True) as writer:
            writer.add(make_doc("a"))
            blobs.append(writer.commit().read_bytes())
    assert blobs[0] == blobs[1]
    assert json.loads(gzip.decompress(blobs[0]))["id"] == "a"


def test_validate_reports_record_and_field(tmp_path: Path) -> None:
    part = tmp_path / "part-00000.jsonl"
    with ShardWriter(part) as writer:
        writer.add(make_doc("a"))
        writer.commit()
    record = json.loads(part.read_text(encoding="utf-8"))
    record["source"]["sha256"] = "not-a-hash"
    part.write_text(json.dumps(record) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    count, problems = validate_records(part)
    assert count == 2
    assert {(p.record_id, p.field) for p in problems} == {("a", "source.sha256"), ("a", "id")}
    assert "record a: field source.sha256" in str(problems[0])
