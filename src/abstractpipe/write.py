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
        self._out.close()  # closes the gzip stream, which leaves a passed-in file open
        self._raw.close()
        os.replace(self.temp_name, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self._out.close()
            self._raw.close()
        finally:
            Path(self.temp_name).unlink(missing_ok=True)

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is not None:
            self.abort()


def write_json(path: Path, value: Any) -> None:
    write_atomic(path, json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def read_records(paths: Iterable[Path]) -> Iterable[tuple[Path, int, str]]:
    """Yield (file, line number, line) for every non-empty line of record files."""
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield path, number, line
