"""Ingest: find the page files under the raw root and decode each into text.

``discover_inputs`` turns every file under the raw root into a ``Document``
(ids, paths, site, URL from a sidecar JSON); the ``ingest`` step reads the
bytes, gunzips them, rejects what is not a text page, and decodes the rest
into ``Document.markup``.  Files the step cannot handle are failed with a
reason rather than skipped, so they reach the quarantine: nothing is lost.

Provenance.  A page may have a sidecar ``<page>.json`` (``abstractpipe scrape``
writes one).  Its ``final_url`` (the URL the bytes were served from, after
redirects), else its ``url``, becomes ``Source.url``, the record's site and its
id; ``fetched_at`` the fetch time; the charset of ``headers["content-type"]``
is the transport-declared charset.  ``final_url`` wins because a web archive
files the same bytes under that URL, so a scraped page and the same page read
from a WARC file give the same record (only ``source.path`` differs); a page
without redirects has ``final_url == url`` and keeps its id.

Web archives.  ``.warc``/``.wet`` files (gzip per record or not, see
``WARC_SUFFIXES``) are read in place, streaming: discovery walks the record
headers and makes one Document per ``response`` record with a 2xx status and a
text media type, and per WET ``conversion`` record; its ``source.path`` is
``<file>#<byte offset of the record>`` and its URL and fetch time come from
``WARC-Target-URI`` and ``WARC-Date``.  The step seeks to the offset and reads
that one payload (de-chunked and un-gzipped by warcio).  Other records
(requests, redirects, images, revisits, metadata) are not pages and are left
out.

Decoding order, as a browser would: byte-order mark; the charset the HTTP
``Content-Type`` declared (sidecar or WARC record); the charset an HTML page
declares (``<meta>``, ``<?xml?>``); strict UTF-8; statistical detection with
charset-normalizer among a short list of candidates (ties go to the earlier
candidate; if the detector gives up on a very short text, the first candidate
that decodes strictly).  One deliberate departure from browsers: a page that
declares a legacy charset but whose bytes are valid, non-ASCII UTF-8 is read
as UTF-8 (scrapers re-save pages and keep the old ``<meta>``); see
``prefer_valid_utf8`` in ``configs/ingest.yaml``.  The result is
NFC-normalised (never NFKC: the author's full-width Chinese punctuation is
data) with ``\\n`` line endings.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import hashlib
import io
import json
import os
import re
import unicodedata
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import charset_normalizer
from charset_normalizer.models import CharsetMatch
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from abstractpipe.config import Config, ConfigError
from abstractpipe.document import Document, Source
from abstractpipe.pipeline import PageError, Step, register_step

SIDECAR_SUFFIX = ".json"
# Web archive file names, matched lowercase at the end (Common Crawl's "x.warc.wet.gz" included).
WARC_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz")
WARC_RECORD_TYPES = frozenset({"response", "conversion"})
# What a reader can raise on a damaged archive.
WARC_ERRORS = (ArchiveLoadFailed, OSError, EOFError, zlib.error, ValueError, StopIteration)
CHARSET_PARAMETER = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.IGNORECASE)
SKIPPED_NAMES = frozenset({".gitkeep"})

# Byte-order marks, longest first: the UTF-32-LE mark starts with the UTF-16-LE one.
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Searched in the page's first bytes read as Latin-1 (every HTML charset label is ASCII).
META_CHARSET = re.compile(rb"<meta\b[^>]*?\bcharset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.IGNORECASE)
XML_ENCODING = re.compile(rb"^\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9_.:\-]+)[\"']", re.IGNORECASE)

# Detection scores closer than this count as a tie (broken by candidate order).
TIE_TOLERANCE = 1e-6

# C0/C1 control characters other than tab, newline, vertical tab, form feed and carriage
# return, plus U+FFFD: what binary data looks like once decoded.
STRAY_CHARACTERS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")
# The same characters in UTF-8 bytes: the C0 ones and DEL are single bytes (which never occur
# inside a multi-byte sequence), C1 ones are C2 80-9F; U+FFFD is counted in the text.
STRAY_ASCII_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])
STRAY_C1_UTF8 = re.compile(b"\xc2[\x80-\x9f]")

DEFAULT_RULES: dict[str, Any] = {
    "extensions": {"html": [".html", ".htm", ".xhtml"], "text": [".txt"]},
    "compressed_extensions": [".gz"],
    "max_bytes": 20 * 1024 * 1024,
    "charset_sniff_bytes": 4096,
    "charset_aliases": {},
    "detection_candidates": ["utf_8", "gb18030", "big5", "cp1252"],
    "max_control_share": 0.02,
    "prefer_valid_utf8": True,
    "content_types": {"html": ["text/html", "application/xhtml+xml"], "text": ["text/plain"]},
}


class IngestError(PageError):
    """A file that is not a readable text page; the message is the quarantine reason.

    ``kind`` names the reason for the step's counters (``rejected:<kind>``).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# --- discovery -------------------------------------------------------------------------------


def make_id(url: str | None, relative_path: str) -> str:
    """A stable document id: from the URL when known, else from the path under the raw root."""
    key = f"url:{url}" if url else f"path:{relative_path}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def site_of(url: str | None, relative_path: str) -> str:
    """URL host when a URL is known, else the file's folder under the raw root ("." at the root)."""
    if url:
        host = urlsplit(url).hostname
        if host:
            return host
    folder = relative_path.rpartition("/")[0]
    return folder or "."


def is_skipped_name(name: str) -> bool:
    """Dotfiles, ``.gitkeep`` and README files are not pages."""
    if name.startswith(".") or name in SKIPPED_NAMES:
        return True
    return name.split(".", 1)[0].upper() == "README"


def read_sidecar(path: Path | str) -> tuple[dict[str, str], str | None]:
    """``url``, ``final_url``, ``fetched_at`` and ``content_type`` of a sidecar JSON (those present),
    and a problem description if it is unusable."""
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8-sig") as handle:
            data = json.loads(handle.read())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, f"{name}: {exc}"
    if not isinstance(data, dict):
        return {}, f"{name}: expected a JSON object"
    found: dict[str, str] = {}
    headers = data.get("headers")
    if isinstance(headers, dict):
        data = {**data, "content_type": {k.lower(): v for k, v in headers.items()}.get("content-type")}
    for key in ("url", "final_url", "fetched_at", "content_type"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            found[key] = value.strip()
    return found, None


def document_for_relative(raw_root: Path, relative: str) -> Document:
    """``document_for_file(raw_root / relative, raw_root)`` for a clean relative path, from strings.

    CPython 3.11's ``pathlib`` interns every component it parses; the interpreter's table of
    interned strings keeps a slot for each page's file names until it is rebuilt, and a
    rebuild grew it by ~4 MB over a 10,000-page run. Pages therefore get their paths as
    strings; archive records and unusual paths take the general route.
    """
    if not _is_plain_relative(relative):
        return document_for_file(raw_root / relative, raw_root)
    absolute = os.path.join(raw_root, relative)
    meta, problem = _sidecar_beside(absolute)
    return _file_document(raw_root, relative, absolute, meta, problem)


def _is_plain_relative(relative: str) -> bool:
    """Whether ``relative`` names a plain page file, neither an archive (record) nor an odd path."""
    parts = relative.split("/")
    name = parts[-1]
    return not (
        "#" in name
        or is_warc_name(name)
        or any(part in ("", ".", "..") for part in parts)
        or "\\" in relative
    )


def _sidecar_beside(absolute: str) -> tuple[dict[str, str], str | None]:
    """``read_sidecar`` of the page's sidecar; ({}, None) when it has none."""
    if os.path.isfile(absolute + SIDECAR_SUFFIX):
        return read_sidecar(absolute + SIDECAR_SUFFIX)
    return {}, None


def _file_document(
    raw_root: Path, relative: str, path: Path | str, meta: dict[str, str], problem: str | None
) -> Document:
    url = meta.get("final_url") or meta.get("url")
    doc = Document(
        id=make_id(url, relative),
        source=Source(
            path=relative,
            site=site_of(url, relative),
            url=url,
            fetched_at=meta.get("fetched_at"),
            absolute_path=resolved_path(path, raw_root, relative),
        ),
    )
    if problem:
        doc.warn("bad_sidecar", problem)
    return doc


def document_for_file(path: Path, raw_root: Path) -> Document:
    """The Document for one file under ``raw_root`` (nothing read yet but its sidecar).

    ``raw_root / "crawl.warc.gz#570"`` (a ``source.path`` discovery gave) is the
    archive record at that offset, so a runner can rebuild any Document from its path.
    """
    record = split_record_path(path)
    if record is not None:
        return document_for_record(record[0], record[1], raw_root)
    if is_warc_name(path.name):  # a damaged archive's own entry (see documents_for_warc)
        broken = [d for d in documents_for_warc(path, raw_root) if "#" not in d.source.path]
        if broken:
            return broken[0]
    relative = path.relative_to(raw_root).as_posix()
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    meta: dict[str, str] = {}
    problem = None
    if sidecar.is_file():
        meta, problem = read_sidecar(sidecar)
    return _file_document(raw_root, relative, path, meta, problem)


@functools.lru_cache(maxsize=16)
def _resolved_root(cwd: str, raw_root: str) -> str:
    return os.path.realpath(os.path.join(cwd, raw_root))


def resolved_path(path: Path | str, raw_root: Path, relative: str) -> str:
    """``str(path.resolve())`` for ``path`` = ``raw_root / relative``.

    ``resolve`` checks every component of the path and stats it once more; runs rebuild a page's
    Document three times, so the raw root's part is resolved once per process and working
    folder, and only the components below it are checked for links here.
    """
    current = _resolved_root(os.getcwd(), str(raw_root))
    for part in relative.split("/"):
        current = os.path.join(current, part)
        if part in ("", ".", "..") or os.path.islink(current):
            return str(Path(path).resolve())  # the general case
    return current


def is_warc_name(name: str) -> bool:
    return name.lower().endswith(WARC_SUFFIXES)


def media_type(content_type: str | None) -> str:
    """``text/html; charset=gbk`` -> ``text/html``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def charset_parameter(content_type: str | None) -> str | None:
    """The ``charset`` of a Content-Type header value, lowercased, if any."""
    match = CHARSET_PARAMETER.search(content_type or "")
    return match.group(1).lower() if match else None


def is_page_media(content_type: str | None) -> bool:
    """Records discovery keeps from an archive: text/* and XHTML (the step maps them to formats)."""
    kind = media_type(content_type)
    return kind.startswith("text/") or kind == "application/xhtml+xml"


def record_content_type(record: Any) -> str | None:
    """The payload's Content-Type: the HTTP header of a response, the WARC header otherwise."""
    if record.http_headers is not None:
        return record.http_headers.get_header("Content-Type")
    return record.rec_headers.get_header("Content-Type")


def warc_page_records(stream: Any) -> Any:
    """(offset, record) of each page record in an open archive; payloads are skipped, not held."""
    records = ArchiveIterator(stream)
    for record in records:
        if not record.rec_type:  # warcio yields a typeless record for bytes that are not a WARC record
            raise ValueError(f"no WARC record at offset {records.get_record_offset()}")
        if record.rec_type not in WARC_RECORD_TYPES:
            continue
        if record.rec_type == "response":
            if record.http_headers is None:  # dns:, whois: and other non-HTTP captures
                continue
            status = record.http_headers.get_statuscode() or ""
            if not (status.isdigit() and 200 <= int(status) < 300):
                continue  # redirects, 304s, errors: no page
        if not is_page_media(record_content_type(record)):
            continue
        yield records.get_record_offset(), record


def split_record_path(path: Path) -> tuple[Path, int] | None:
    """``.../crawl.warc.gz#570`` -> (``.../crawl.warc.gz``, 570); None for any other path."""
    name, mark, offset = path.name.rpartition("#")
    if mark and offset.isdigit() and is_warc_name(name):
        return path.with_name(name), int(offset)
    return None


def record_document(record: Any, relative: str, offset: int, absolute: str) -> Document:
    """The Document for one archive record (headers only): URL and fetch time from the WARC headers."""
    url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip() or None
    record_path = f"{relative}#{offset}"
    return Document(
        id=make_id(url, record_path),
        source=Source(
            path=record_path,
            site=site_of(url, relative),
            url=url,
            fetched_at=record.rec_headers.get_header("WARC-Date"),
            absolute_path=absolute,
        ),
    )


def record_at(stream: Any, offset: int) -> Any:
    """The archive record starting exactly at ``offset``.

    warcio skips unreadable bytes to the next record it can parse, so a bad offset
    could silently yield a later record: the record must start where we looked.
    """
    stream.seek(offset)
    # A record starts a gzip member (per-record compression) or a "WARC/" header line.
    if not stream.read(5).startswith((b"\x1f\x8b", b"WARC/")):
        raise ValueError(f"no WARC record starts at offset {offset}")
    stream.seek(offset)
    record = next(iter(ArchiveIterator(stream)))
    if not record.rec_type:
        raise ValueError(f"no WARC record starts at offset {offset}")
    return record


def document_for_record(path: Path, offset: int, raw_root: Path) -> Document:
    """The Document for the archive record at ``offset`` (its headers are read, not its payload)."""
    relative = path.relative_to(raw_root).as_posix()
    absolute = str(path.resolve())
    try:
        with path.open("rb") as stream:
            return record_document(record_at(stream, offset), relative, offset, absolute)
    except WARC_ERRORS as exc:
        doc = Document(
            id=make_id(None, f"{relative}#{offset}"),
            source=Source(path=f"{relative}#{offset}", site=site_of(None, relative), absolute_path=absolute),
        )
        doc.warn("corrupt_warc", f"cannot read web archive record: {exc!r}")
        return doc


def documents_for_warc(path: Path, raw_root: Path) -> list[Document]:
    """One Document per page record of a WARC/WET file, headers only (payloads are read by the step).

    A damaged archive keeps the records before the damage and adds a Document for
    the file itself, which the step fails with the reason (so it reaches the quarantine).
    """
    relative = path.relative_to(raw_root).as_posix()
    absolute = str(path.resolve())
    docs: list[Document] = []
    try:
        with path.open("rb") as stream:
            for offset, record in warc_page_records(stream):
                docs.append(record_document(record, relative, offset, absolute))
    except WARC_ERRORS as exc:
        broken = Document(
            id=make_id(None, relative),
            source=Source(path=relative, site=site_of(None, relative), absolute_path=absolute),
        )
        broken.warn("corrupt_warc", f"damaged web archive after {len(docs)} page records: {exc!r}")
        docs.append(broken)
    return docs


def discover_inputs(raw_root: Path) -> list[Document]:
    """Every page under ``raw_root``, sorted by relative POSIX path (archive records in file order).

    Skips dotfiles and dot-folders, ``.gitkeep``, README files and sidecars
    (``<page>.json`` beside ``<page>``).  Everything else becomes a Document,
    even files the ingest step will reject, so they reach the quarantine.  A
    WARC/WET file becomes one Document per page record (see ``documents_for_warc``).
    """
    return list(iter_inputs(raw_root))


def iter_inputs(raw_root: Path) -> Iterator[Document]:
    """``discover_inputs`` one Document at a time, in the order of their relative paths.

    The folder is walked one directory listing at a time, never holding the whole
    list of paths: a directory's entries are visited in the order of the path strings
    they begin (a folder ``a`` begins ``a/``, which sorts after a file or folder
    ``a-b``), so the pages come in plain string order of their relative paths.
    """
    raw_root = Path(raw_root)
    for relative in _sorted_relative_paths(raw_root, ""):
        if is_warc_name(relative.rsplit("/", 1)[-1]):
            yield from documents_for_warc(raw_root / relative, raw_root)
        else:
            yield document_for_relative(raw_root, relative)


def iter_page_identities(raw_root: Path) -> Iterator[tuple[str, str, str]]:
    """``(doc.id, doc.source.path, doc.source.site)`` of each Document of ``iter_inputs``, in order.

    What planning needs of every page, without the rest of a Document: a plain file costs
    its sidecar's stat (and read, when there is one), not the checks ``resolved_path`` makes.
    """
    raw_root = Path(raw_root)
    for relative in _sorted_relative_paths(raw_root, ""):
        if _is_plain_relative(relative):
            meta, _ = _sidecar_beside(os.path.join(raw_root, relative))
            url = meta.get("final_url") or meta.get("url")
            yield make_id(url, relative), relative, site_of(url, relative)
            continue
        if is_warc_name(relative.rsplit("/", 1)[-1]):
            docs = documents_for_warc(raw_root / relative, raw_root)
        else:
            docs = [document_for_relative(raw_root, relative)]
        for doc in docs:
            yield doc.id, doc.source.path, doc.source.site


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _sorted_relative_paths(root: Path, prefix: str) -> Iterator[str]:
    try:
        with os.scandir(root / prefix if prefix else root) as scan:
            # (name, is a folder, is a link to a folder): like os.walk, links to folders
            # are neither pages nor walked into
            entries = [(entry.name, _is_dir(entry), entry.is_symlink()) for entry in scan]
    except OSError:
        return
    names = {name for name, is_dir, _ in entries if not is_dir}
    keyed = []
    for name, is_dir, is_link in entries:
        if is_dir:
            if not name.startswith(".") and not is_link:
                keyed.append((name + "/", True))
        elif not is_skipped_name(name) and not (
            name.endswith(SIDECAR_SUFFIX) and name[: -len(SIDECAR_SUFFIX)] in names
        ):
            keyed.append((name, False))
    keyed.sort()
    for key, is_dir in keyed:
        if is_dir:
            yield from _sorted_relative_paths(root, prefix + key)
        else:
            yield prefix + key


# --- decoding --------------------------------------------------------------------------------


def canonical_codec(name: str) -> str | None:
    """Python's canonical name for a codec label ("GBK" -> "gbk"), or None if unknown."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def declared_charset(head: bytes) -> str | None:
    """The charset label an HTML page declares in its first bytes, lowercased, if any."""
    match = XML_ENCODING.search(head) or META_CHARSET.search(head)
    return match.group(1).decode("ascii").lower() if match else None


def _utf8_source(data: bytes, codec: str, how: str) -> bytes | None:
    """The bytes ``decode`` strictly decoded as UTF-8 to give its text, else None.

    Detection may decode with replacement characters, so its text is not those bytes.
    """
    if codec != "utf-8" or how == "detected":
        return None
    return data[len(codecs.BOM_UTF8) :] if how == "bom" else data


def _strict_utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def normalise_text(text: str) -> str:
    """NFC (not NFKC: full-width punctuation stays) and ``\\n`` line endings."""
    if "\r" in text:  # one scan for the usual page without any
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def control_share(text: str, utf8: bytes | None = None) -> float:
    """Share of characters that do not occur in a text page: stray controls and U+FFFD.

    ``utf8``, when given, are the bytes ``text`` was strictly decoded from as UTF-8: counting
    in them is exact and takes a fraction of the regex scan over the text.
    """
    if not text:
        return 0.0
    if utf8 is None:
        return len(STRAY_CHARACTERS.findall(text)) / len(text)
    stray = len(utf8) - len(utf8.translate(None, STRAY_ASCII_BYTES))
    if b"\xc2" in utf8:
        stray += len(STRAY_C1_UTF8.findall(utf8))
    # U+FFFD in the text, one per EF BF BD in its UTF-8 bytes (a lead byte: a match cannot start
    # inside another character), but a one-character search is ~8x as fast as the 3-byte count.
    if "\ufffd" in text:
        stray += text.count("\ufffd")
    return stray / len(text)


@register_step("ingest")
class IngestStep(Step):
    """Read, gunzip, check and decode each page file (fills raw, markup and the source fields)."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        rules: dict[str, Any] = dict(DEFAULT_RULES)
        rules.update(self.load_stage_rules())
        rules.update({k: v for k, v in self.settings.items() if k != "rules"})

        self.format_by_extension: dict[str, str] = {}
        for page_format, extensions in (rules["extensions"] or {}).items():
            for extension in extensions:
                self.format_by_extension[str(extension).lower()] = str(page_format)
        # Longest first, and a fixed order (a set's order varies with string hashing).
        self.compressed_extensions = sorted(
            {str(e).lower() for e in rules["compressed_extensions"] or []}, key=lambda e: (-len(e), e)
        )
        self.max_bytes = int(rules["max_bytes"])
        self.sniff_bytes = int(rules["charset_sniff_bytes"])
        self.max_control_share = float(rules["max_control_share"])
        self.aliases = {str(k).lower(): str(v) for k, v in (rules["charset_aliases"] or {}).items()}
        self.candidates = [str(c) for c in rules["detection_candidates"]]
        self.prefer_valid_utf8 = bool(rules["prefer_valid_utf8"])
        self.format_by_media: dict[str, str] = {}
        for page_format, media_types in (rules["content_types"] or {}).items():
            for kind in media_types:
                self.format_by_media[str(kind).lower()] = str(page_format)
        self.candidate_rank: dict[str, int] = {}
        for codec in self.candidates:
            self.candidate_rank.setdefault(canonical_codec(codec) or codec, len(self.candidate_rank))
        for codec in [*self.aliases.values(), *self.candidates]:
            if canonical_codec(codec) is None:
                raise ConfigError(f"ingest rules name an unknown codec: {codec}")

    # -- reading --

    def split_extension(self, name: str) -> tuple[str, bool]:
        """(page extension, compressed?) of a file name: "a.html.gz" -> (".html", True)."""
        lower = name.lower()
        compressed = False
        for extension in self.compressed_extensions:
            if lower.endswith(extension):
                lower = lower[: -len(extension)]
                compressed = True
                break
        stem, dot, suffix = lower.rpartition(".")
        return (f".{suffix}" if dot and stem else ""), compressed

    def read_bytes(self, path: Path | str, compressed: bool) -> bytes:
        size = os.stat(path).st_size
        if size > self.max_bytes:
            raise IngestError("too_large", f"file too large: {size} bytes > max_bytes {self.max_bytes}")
        with open(path, "rb") as handle:
            data = handle.read()
        if not compressed:
            return data
        self.counters["gzip"] += 1
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                # Read one byte past the limit: enough to know it is too large, bounded if a bomb.
                inflated = stream.read(self.max_bytes + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise IngestError("corrupt_gzip", f"corrupt gzip: {exc or type(exc).__name__}") from exc
        if len(inflated) > self.max_bytes:
            raise IngestError("too_large", f"file too large after gunzip: > max_bytes {self.max_bytes}")
        return inflated

    # -- decoding --

    def resolve_label(self, label: str) -> str | None:
        return canonical_codec(self.aliases.get(label, label))

    def detect(self, data: bytes) -> CharsetMatch | None:
        """charset-normalizer's best match; ties (same chaos and coherence) go to the earlier candidate.

        Close single-byte codecs (cp1252 / cp1250) often decode a page with identical scores;
        the config's candidate order says which is more likely in our corpus.
        """
        matches = charset_normalizer.from_bytes(data, cp_isolation=self.candidates)
        top = matches.best()
        if top is None:
            return None

        def rank(match: CharsetMatch) -> int:
            codec = canonical_codec(match.encoding)
            return (
                self.candidate_rank.get(codec, len(self.candidate_rank))
                if codec
                else len(self.candidate_rank)
            )

        tied = [
            m
            for m in matches
            if abs(m.chaos - top.chaos) <= TIE_TOLERANCE and abs(m.coherence - top.coherence) <= TIE_TOLERANCE
        ]
        return min(tied, key=rank)

    def decode(
        self, doc: Document, data: bytes, page_format: str, transport_label: str | None = None
    ) -> tuple[str, str, str]:
        """(text, codec, how it was chosen) for the page bytes.

        ``transport_label`` is the charset of the HTTP Content-Type, if known; like a
        browser, it outranks the page's own declaration.
        """
        for bom, codec in BOMS:
            if data.startswith(bom):
                try:
                    return data[len(bom) :].decode(codec), codec, "bom"
                except UnicodeDecodeError as exc:
                    doc.warn("encoding_mismatch", f"byte-order mark says {codec} but: {exc}")
                    break

        if b"\x00" in data:
            raise IngestError("binary", "binary content, not a text page (NUL bytes)")

        utf8_text = _strict_utf8(data)
        declarations: list[tuple[str, str]] = []  # (label, how), most authoritative first
        if transport_label:
            declarations.append((transport_label, "http-declared"))
        if page_format == "html":
            label = declared_charset(data[: self.sniff_bytes])
            if label:
                declarations.append((label, "declared"))
        for label, how in declarations:
            codec = self.resolve_label(label)
            if codec is None:
                doc.warn("unknown_charset", f"declared charset {label!r} is not a known codec")
                continue
            if codec != "utf-8" and self.prefer_valid_utf8 and utf8_text and not data.isascii():
                # Scrapers often re-save pages as UTF-8 but keep the original <meta>; legacy
                # text that is also valid UTF-8 is vanishingly rare, so the bytes win.
                doc.warn("encoding_mismatch", f"declared charset {label!r} but the bytes are valid UTF-8")
                return utf8_text, "utf-8", "utf-8-over-declared"
            if codec == "utf-8" and utf8_text is not None:
                return utf8_text, codec, how  # decoded once already
            try:
                return data.decode(codec), codec, how
            except UnicodeDecodeError as exc:
                doc.warn("encoding_mismatch", f"declared charset {label!r} does not decode: {exc}")

        if utf8_text is not None:
            return utf8_text, "utf-8", "utf-8"

        best = self.detect(data)
        if best is not None:
            codec = canonical_codec(best.encoding) or best.encoding
            try:
                return data.decode(codec), codec, "detected"
            except UnicodeDecodeError:  # the detector tolerates a few bad bytes; we are strict first
                return data.decode(codec, errors="replace"), codec, "detected"
        # The detector gives up on very short texts; take the first candidate that decodes cleanly
        # (the control-character check after decoding still catches binary data).
        for candidate in self.candidates:
            codec = canonical_codec(candidate) or candidate
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                continue
            doc.warn("encoding_guess", f"charset detection gave no answer; decoded as {codec}")
            return text, codec, "guessed"
        raise IngestError("binary", "binary content, not a text page (no candidate encoding decodes it)")

    # -- the step --

    def process(self, doc: Document) -> Document:
        try:
            return self.read_page(doc)
        except IngestError as exc:
            self.counters[f"rejected:{exc.kind}"] += 1
            raise

    def read_warc_record(self, doc: Document, path: Path) -> tuple[bytes, str | None]:
        """(payload, Content-Type) of the archive record at the offset in ``doc.source.path``."""
        _, hash_mark, offset = doc.source.path.rpartition("#")
        if not hash_mark or not offset.isdigit():
            problems = [w["detail"] for w in doc.warnings if w["code"] == "corrupt_warc"]
            raise IngestError(
                "corrupt_warc", problems[0] if problems else "web archive without a record offset"
            )
        try:
            with path.open("rb") as stream:
                record = record_at(stream, int(offset))
                content_type = record_content_type(record)
                # One byte past the limit: enough to know it is too large, bounded if a bomb.
                data = record.content_stream().read(self.max_bytes + 1)
        except WARC_ERRORS as exc:
            raise IngestError("corrupt_warc", f"cannot read web archive record: {exc!r}") from exc
        if len(data) > self.max_bytes:
            raise IngestError("too_large", f"record too large: > max_bytes {self.max_bytes}")
        self.counters["warc_records"] += 1
        return data, content_type

    def read_page(self, doc: Document) -> Document:
        path = doc.source.absolute_path  # a string: see document_for_relative
        name = os.path.basename(path)
        transport_label: str | None = None
        if is_warc_name(name):
            data, content_type = self.read_warc_record(doc, Path(path))
            page_format = self.format_by_media.get(media_type(content_type))
            if page_format is None:
                raise IngestError(
                    "unsupported", f"unsupported content type: {media_type(content_type) or '(none)'}"
                )
            transport_label = charset_parameter(content_type)
        else:
            extension, compressed = self.split_extension(name)
            page_format = self.format_by_extension.get(extension)
            if page_format is None:
                shown = extension or "(no extension)"
                raise IngestError(
                    "unsupported", f"unsupported file type: {shown}{' (gzip)' if compressed else ''}"
                )
            data = self.read_bytes(path, compressed)
            sidecar = path + SIDECAR_SUFFIX
            if os.path.isfile(sidecar):
                transport_label = charset_parameter(read_sidecar(sidecar)[0].get("content_type"))
        doc.source.format = page_format
        doc.raw = data
        doc.source.sha256 = hashlib.sha256(data).hexdigest()
        if not data or data.isspace():  # what strip() would leave empty, without the copy
            raise IngestError("empty", "empty file")

        text, codec, how = self.decode(doc, data, page_format, transport_label)
        utf8 = _utf8_source(data, codec, how)
        if control_share(text, utf8) > self.max_control_share:
            raise IngestError("binary", "binary content, not a text page (control characters)")
        markup = normalise_text(text)
        if not markup or markup.isspace():
            raise IngestError("empty", "empty file")

        doc.markup = markup
        # Strictly decoded UTF-8 encodes back to the same bytes; normalising may have changed the text.
        doc.markup_utf8 = utf8 if utf8 is not None and markup == text else None
        doc.source.encoding = codec
        self.counters[f"format:{page_format}"] += 1
        self.counters[f"encoding:{codec}"] += 1
        self.counters[f"encoding_from:{how}"] += 1
        return doc
