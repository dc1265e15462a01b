"""Last stage: documents become validated records, failures the quarantine.

Output folder layout::

    records/part-00000.jsonl   one part per shard (``run.shards``); ids in part n all sort before
                               those in part n+1, and each part is sorted by id
                               (``.jsonl.gz`` with ``write.gzip``)
    quarantine.jsonl           one line per page that failed: path, stage, error
    stats.json                 counts per stage (deterministic)
    run.json                   package version, config and its hash, input count (deterministic)
    timings.json               seconds per stage (varies run to run, kept apart for that reason)

Every file is written to a temporary name and renamed into place, so a reader
never sees half a file and a crash never leaves one.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from abstractpipe.document import LANGS, Document
from abstractpipe.schema import SCHEMA_VERSION, Record


def dump_json_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def build_record(doc: Document) -> Record:
    """Assemble the output record from what the stages left on the document."""
    fields = doc.fields
    languages = sorted({b.lang for b in doc.blocks if b.lang in LANGS})
    source = doc.source
    links = [
        {"en": link.en, "zh": link.zh, "score": round(link.score, 4)} for link in doc.alignment.sentences
    ]
    return Record.model_validate(
        {
            "id": doc.id,
            "schema_version": SCHEMA_VERSION,
            "source": {
                "path": source.path,
                "url": source.url,
                "site": source.site,
                "fetched_at": source.fetched_at,
                "sha256": source.sha256,
                "format": source.format,
                "encoding": source.encoding,
            },
            "languages": languages,
            "text": doc.text,
            "title": fields.get("title") or {},
            "metadata": fields.get("metadata") or {},
            "sections": fields.get("sections") or {},
            "page_sections": fields.get("page_sections") or {},
            "sentences": {lang: [doc.span(s.start, s.end) for s in doc.sentences_in(lang)] for lang in LANGS},
            "alignment": {
                "sections": [list(pair) for pair in doc.alignment.sections],
                "sentences": links,
            },
            "statistics": fields.get("statistics") or [],
            "warnings": doc.warnings,
            "curated": fields.get("curated") or [],
        }
    )


def record_line(doc: Document) -> tuple[str | None, str | None]:
    """(serialised record, None) for a finished document, (None, reason) when it cannot be one."""
    try:
        record = build_record(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return None, f"invalid record: {where}: {first['msg']}"
    return dump_json_line(record.model_dump(mode="json")), None


class ShardWriter:
    """Streams one shard's records, in id order, into its part file.

    Documents must arrive sorted by id (the shard sorts its pages before running
    them), so nothing but the previous id is kept in memory.  The part goes to a
    temporary name and is renamed into place by ``commit``; ``abort`` (or an
    exception inside the ``with`` block) leaves no file behind.
    """

    def __init__(self, path: Path, compress: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, self.temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        self._raw = os.fdopen(handle, "wb")
        # mtime=0 and no file name in the gzip header: the same records give the same bytes.
        self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0) if compress else None
        self._out = io.TextIOWrapper(self._gzip or self._raw, encoding="utf-8", newline="\n")
        self.quarantine: list[dict[str, str]] = []
        self.records = 0
        self._last_id: str | None = None

    def add(self, doc: Document) -> None:
        if doc.failure is not None:
            self._quarantine(doc, doc.failure.stage, doc.failure.error)
            return
        if self._last_id is not None and doc.id <= self._last_id:
            if doc.id == self._last_id:
                self._quarantine(doc, "write", f"duplicate record id {doc.id}")
                return
            raise ValueError(f"shard documents out of id order: {doc.id} after {self._last_id}")
        line, problem = record_line(doc)
        if line is None:
            self._quarantine(doc, "write", problem or "invalid record")
            return
        self._out.write(line + "\n")
        self._last_id = doc.id
        self.records += 1

    def _quarantine(self, doc: Document, stage: str, error: str) -> None:
        self.quarantine.append({"path": doc.source.path, "id": doc.id, "stage": stage, "error": error})

    def commit(self) -> Path:
        self._out.close()  # closes the gzip stream and the file under it
        os.replace(self.temp_name, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self._out.close()
        finally:
            Path(self.temp_name).unlink(missing_ok=True)

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is not None:
            self.abort()


class RecordWriter:
    """Collects records and quarantine lines in memory, then writes the output folder.

    For small in-process uses (tests, tools); the runner streams with ``ShardWriter``.
    """

    def __init__(self, out_dir: Path, records_per_part: int = 10000) -> None:
        if records_per_part < 1:
            raise ValueError("write.records_per_part must be at least 1")
        self.out_dir = out_dir
        self.records_per_part = records_per_part
        self.records: dict[str, str] = {}  # id -> serialised record
        self.quarantine: list[dict[str, str]] = []
        self.counters: Counter[str] = Counter()

    def add(self, doc: Document) -> None:
        if doc.failure is None:
            if doc.id in self.records:
                self._quarantine(doc, "write", f"duplicate record id {doc.id}")
                return
            line, problem = record_line(doc)
            if line is None:
                self._quarantine(doc, "write", problem or "invalid record")
                return
            self.records[doc.id] = line
            self.counters["records"] += 1
        else:
            self._quarantine(doc, doc.failure.stage, doc.failure.error)

    def _quarantine(self, doc: Document, stage: str, error: str) -> None:
        self.quarantine.append({"path": doc.source.path, "id": doc.id, "stage": stage, "error": error})
        self.counters["quarantined"] += 1
        self.counters[f"quarantined:{stage}"] += 1

    def write_records(self) -> list[Path]:
        records_dir = self.out_dir / "records"
        ordered = [self.records[key] for key in sorted(self.records)]
        parts: list[Path] = []
        for number, first in enumerate(range(0, max(len(ordered), 1), self.records_per_part)):
            chunk = ordered[first : first + self.records_per_part]
            path = records_dir / f"part-{number:05d}.jsonl"
            write_atomic(path, "".join(line + "\n" for line in chunk))
            parts.append(path)
        for stale in records_dir.glob("part-*.jsonl"):  # parts left by an earlier, larger run
            if stale not in parts:
                stale.unlink()
        return parts

    def write_quarantine(self) -> Path:
        path = self.out_dir / "quarantine.jsonl"
        lines = sorted(self.quarantine, key=lambda q: (q["path"], q["stage"]))
        write_atomic(path, "".join(dump_json_line(q) + "\n" for q in lines))
        return path


def write_json(path: Path, value: Any) -> None:
    write_atomic(path, json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def read_records(paths: Iterable[Path]) -> Iterable[tuple[Path, int, str]]:
    """Yield (file, line number, line) for every non-empty line of record files."""
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield path, number, line
