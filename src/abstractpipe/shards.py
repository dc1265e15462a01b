"""Shards: which pages go together, what their content is, and what a run already did.

A page's shard comes from its id (a SHA-256 prefix of its URL or path), split
into ``run.shards`` equal id ranges, so it depends on nothing but the page and
the shard count: never on the worker count, the executor or the other pages.
Because the ranges are ordered, part n holds ids that all sort before those of
part n+1, and the parts read in order are sorted by id as one file would be.

State lives in ``<out>/.state/``::

    manifest.json             config hash and shard count of the last run
    files.jsonl               [path, [size, mtime_ns, sidecar size, sidecar mtime_ns, sha256]]
                              of every input file, sorted by path (read forward, never held)
    plan/00007.jsonl          the pages of shard 7 in this run, sorted by (id, path)
    shards/00007.json         completion marker of shard 7: its input and learned-state
                              digests, counters, timings and quarantine lines
    observe/<step>/00007.jsonl  what a site-observing step counted in shard 7
    learned/<step>.json       the reduced, learned state (e.g. repeated blocks per site)

A marker is written after its part is renamed into place, so a marker always
means a complete part; a part without a marker is redone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from abstractpipe.ingest import SIDECAR_SUFFIX, iter_page_identities, split_record_path

log = logging.getLogger("abstractpipe.shards")

STATE_DIR = ".state"
MANIFEST = "manifest.json"
FILES = "files.jsonl"
HASH_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class PageRef:
    """What a shard needs to know about a page before reading it.

    Read by each shard task from its plan file; the driver holds none.
    """

    id: str
    path: str  # relative to the raw root, POSIX separators
    site: str
    sha256: str  # of the page file and its sidecar


EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()
# Page rows the planner holds before appending them to their shards' spool files: planning
# memory stays the same for a thousand pages or a million.
SPOOL_ROWS = 2000


@dataclass
class ShardPlan:
    """One shard's pages: a file of rows sorted by (id, path), and what the driver needs to know.

    The driver holds no per-page state for a shard, only its count, digest and sites;
    the task reads its pages from ``file``.
    """

    number: int
    file: str = ""  # JSON lines [id, path, site, sha256]; "" for an empty shard
    count: int = 0
    digest: str = EMPTY_DIGEST  # content digest: changes when any of its pages (or sidecars) changes
    sites: list[str] = field(default_factory=list)

    @property
    def pages(self) -> list[PageRef]:
        return read_pages(self.file)


def pack_plan(number: int, pages: list[tuple[str, str, str, str]], path: Path) -> ShardPlan:
    """Sort a shard's rows, write them to ``path`` (not when empty) and describe them."""
    if not pages:
        return ShardPlan(number)
    pages.sort(key=lambda page: (page[0], page[1]))
    payload = "\n".join(f"{doc_id}\t{path}\t{sha}" for doc_id, path, _, sha in pages)
    path.write_text("".join(_row_line(page) for page in pages), encoding="utf-8")
    return ShardPlan(
        number,
        file=str(path),
        count=len(pages),
        digest=hashlib.sha256(payload.encode("utf-8")).hexdigest(),
        sites=sorted({page[2] for page in pages}),
    )


# json.dumps with any option builds a new encoder per call: a third of planning's time was that.
_ROW_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_FILE_JSON = json.JSONEncoder(ensure_ascii=False).encode


def _row_line(page: tuple[str, str, str, str]) -> str:
    """One page row of a plan or spool file: [id, path, site, sha256] as a JSON line."""
    return _ROW_JSON(page) + "\n"


def read_pages(file: str) -> list[PageRef]:
    """The pages of a plan file, in order ([] for an empty shard's "")."""
    if not file:
        return []
    with open(file, encoding="utf-8") as rows:
        return [PageRef(*json.loads(row)) for row in rows]


def shard_of(doc_id: str, shards: int) -> int:
    """The shard of a page id: ``shards`` equal ranges of the first 32 bits of the id."""
    return (int(doc_id[:8], 16) * shards) >> 32


def part_name(number: int, compress: bool) -> str:
    return f"part-{number:05d}.jsonl" + (".gz" if compress else "")


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class State:
    """The ``.state`` folder of one output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.root = out_dir / STATE_DIR
        self.markers = self.root / "shards"
        self.observations = self.root / "observe"
        self.learned = self.root / "learned"

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    @property
    def files_path(self) -> Path:
        return self.root / FILES

    def load_manifest(self) -> dict[str, Any]:
        try:
            manifest = json.loads((self.root / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return manifest if isinstance(manifest, dict) else {}

    def save_manifest(self, manifest: dict[str, Any]) -> None:
        write_json_atomic(self.root / MANIFEST, manifest)

    def reset(self) -> None:
        """Forget every completed shard, observation and learned state (the manifest's hashes stay)."""
        for folder in (self.markers, self.observations, self.learned):
            shutil.rmtree(folder, ignore_errors=True)

    def marker_path(self, number: int) -> Path:
        return self.markers / f"{number:05d}.json"

    def observation_path(self, step: str, number: int) -> Path:
        return self.observations / step / f"{number:05d}.jsonl"

    @property
    def plan_dir(self) -> Path:
        return self.root / "plan"

    def work_path(self, step: str, number: int) -> Path:
        """Per-page work a step's observation of a shard saved for its processing."""
        return self.observations / step / f"{number:05d}.work"

    def depth_path(self, number: int) -> Path:
        """Pages the observation of a shard found nested too deep (work of this run, like ``.work``)."""
        return self.observations / "limits" / f"{number:05d}.work.json"

    def clear_work(self) -> None:
        """Remove saved work: what a run reuses, it saved itself (code and config may have changed)."""
        for path in self.observations.glob("*/*.work*"):
            path.unlink(missing_ok=True)

    def observation_marker(self, step: str, number: int) -> Path:
        return self.observations / step / f"{number:05d}.done"

    def learned_path(self, step: str) -> Path:
        return self.learned / f"{step}.json"

    def read_marker(self, number: int) -> dict[str, Any] | None:
        try:
            marker = json.loads(self.marker_path(number).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return marker if isinstance(marker, dict) else None


def write_json_atomic(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(value, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    temp.replace(path)


class KnownFiles:
    """The previous run's file entries, read forward in step with discovery.

    Both lists are sorted by path (discovery walks in that order), so a lookup only ever
    moves forward and no entry is held: an incremental run over a million files needs no
    more memory than one over ten.  A path asked for out of order is simply not found
    (its file is hashed again), so a wrong order costs time, never correctness.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._rows = path.open(encoding="utf-8") if path is not None and path.is_file() else None
        self._key: str | None = None
        self._entry: list[Any] | None = None
        self._advance()

    def _advance(self) -> None:
        self._key, self._entry = None, None
        if self._rows is None:
            return
        try:
            line = next(self._rows)
            key, entry = json.loads(line)
            if isinstance(key, str) and isinstance(entry, list) and len(entry) == 5:
                self._key, self._entry = key, entry
                return
        except (StopIteration, ValueError, TypeError):
            pass
        self.close()  # the end, or a damaged list: the rest is hashed again

    def get(self, key: str) -> list[Any] | None:
        while self._key is not None and self._key < key:
            self._advance()
        return self._entry if self._key == key else None

    def close(self) -> None:
        if self._rows is not None:
            self._rows.close()
            self._rows = None


def plan_shards(
    raw_dir: Path, shards: int, known_files: dict[str, list[Any]] | KnownFiles, plan_dir: Path
) -> tuple[list[ShardPlan], dict]:
    """Every page under ``raw_dir`` in its shard, with content hashes; plan files go to ``plan_dir``.

    ``known_files`` gives the previous run's entry of a path ([size, mtime_ns, sidecar
    size, sidecar mtime_ns, sha256]): a file whose size and mtime are unchanged is not
    read again.  Returns the plans and the new entries (held: for tests and small folders).
    """
    files: dict[str, list[Any]] = {}
    return _plan(raw_dir, shards, known_files, files.__setitem__, plan_dir), files


def plan_shards_into_state(
    raw_dir: Path, shards: int, manifest: dict[str, Any], state: State
) -> list[ShardPlan]:
    """``plan_shards`` for a run: the previous ``files.jsonl`` read and the new one written as
    they go (no entry held), then ``manifest`` saved."""
    path = state.files_path
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    known = KnownFiles(path)
    try:
        with temp.open("w", encoding="utf-8") as out:

            def add(key: str, entry: list[Any]) -> None:
                out.write(_FILE_JSON([key, entry]) + "\n")

            plans = _plan(raw_dir, shards, known, add, state.plan_dir)
    finally:
        known.close()
    temp.replace(path)
    state.save_manifest(manifest)
    return plans


def _plan(
    raw_dir: Path,
    shards: int,
    known_files: dict[str, list[Any]] | KnownFiles,
    add_file: Callable[[str, list[Any]], None],
    plan_dir: Path,
) -> list[ShardPlan]:
    shutil.rmtree(plan_dir, ignore_errors=True)  # a plan is this run's alone
    plan_dir.mkdir(parents=True)
    spool = _Spool(plan_dir)
    last_key, last_entry = None, None
    # One Document at a time (holding them all peaked at ~1 KB a page in the driver), and
    # each file's entry goes to ``add_file`` in discovery order, i.e. sorted by path.
    for doc_id, page_path, site in iter_page_identities(raw_dir):
        # A web-archive record ("crawl.warc.gz#570") is stamped and hashed through its archive,
        # once per archive: hashing a large crawl file once per record would dominate the run.
        # An archive's records (and a damaged archive's own entry) come one after another.
        archive = split_record_path(raw_dir / page_path) if "#" in page_path else None
        # Pages' paths stay strings (see ingest.document_for_relative).
        file_path, file_key = (
            (archive[0], str(archive[0].relative_to(raw_dir).as_posix()))
            if archive
            else (os.path.join(raw_dir, page_path), page_path)
        )
        if file_key != last_key:
            last_key, last_entry = file_key, _file_entry(file_path, known_files.get(file_key))
            add_file(file_key, last_entry)
        assert last_entry is not None
        sha = last_entry[4]
        if archive:
            sha = hashlib.sha256(f"{sha}#{archive[1]}".encode("ascii")).hexdigest()
        spool.add(shard_of(doc_id, shards), (doc_id, page_path, site, sha))
    spool.flush()
    return [
        pack_plan(number, spool.read(number), plan_dir / f"{number:05d}.jsonl") for number in range(shards)
    ]


class _Spool:
    """Page rows appended to one file per shard, at most ``SPOOL_ROWS`` of them held at a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.held: dict[int, list[str]] = {}
        self.rows = 0

    def _path(self, number: int) -> Path:
        return self.folder / f"{number:05d}.spool"

    def add(self, number: int, row: tuple[str, str, str, str]) -> None:
        self.held.setdefault(number, []).append(_row_line(row))
        self.rows += 1
        if self.rows >= SPOOL_ROWS:
            self.flush()

    def flush(self) -> None:
        for number, rows in self.held.items():
            with self._path(number).open("a", encoding="utf-8") as out:
                out.writelines(rows)
        self.held, self.rows = {}, 0

    def read(self, number: int) -> list[tuple[str, str, str, str]]:
        """The shard's rows, and its spool file removed."""
        path = self._path(number)
        if not path.is_file():
            return []
        with path.open(encoding="utf-8") as rows:
            pages = [tuple(json.loads(row)) for row in rows]
        path.unlink()
        return pages  # type: ignore[return-value]


def _file_entry(path: Path | str, known: list[Any] | None) -> list[Any]:
    """[size, mtime_ns, sidecar size, sidecar mtime_ns, sha256]; unchanged stamps reuse the hash."""
    sidecar = f"{path}{SIDECAR_SUFFIX}"
    page_stat, sidecar_stat = _stat(path), _stat(sidecar)
    stamp: list[Any] = [*page_stat[:2], *sidecar_stat[:2]]
    if known is not None and known[:4] == stamp:
        return [*stamp, known[4]]
    digest = hashlib.sha256()
    # One stat per file says both its stamp and whether it is a file to hash (os.path.isfile).
    for part, (_, _, is_file) in ((path, page_stat), (sidecar, sidecar_stat)):
        try:
            digest.update(file_sha256(part).encode("ascii") if is_file else b"-")
        except OSError:  # unreadable: the ingest step quarantines it with the reason
            digest.update(b"unreadable")
    return [*stamp, digest.hexdigest()]


def _stat(path: Path | str) -> tuple[int, int, bool]:
    """(size, mtime_ns, is a regular file); (-1, -1, False) when it cannot be stat'ed."""
    try:
        info = os.stat(path)
    except OSError:
        return (-1, -1, False)
    return (info.st_size, info.st_mtime_ns, stat.S_ISREG(info.st_mode))
