"""The in-flight document: what each stage reads and adds to.

Data flows one way.  Each stage fills in its own part and reads only what the
stages before it filled in:

    ingest    -> source, raw, markup, format
    clean     -> text, blocks, page_meta
    language  -> Block.lang / Block.lang_confidence
    sections  -> sections (abstracts and their labelled sections)
    sentences -> sentences
    align     -> alignment
    extract   -> fields (title, metadata, page_sections, statistics, sections text)
    write     -> the Record (see schema.py)

All offsets (``start``/``end``) are character offsets into ``Document.text``,
the cleaned main content, so every later annotation points back into the one
string a reader of the record reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LANGS = ("en", "zh")
CANONICAL_SECTIONS = ("background", "objective", "methods", "results", "conclusions")


@dataclass
class Source:
    """Where a page came from."""

    path: str  # relative to the raw root, POSIX separators
    site: str  # URL host, else the file's folder relative to the raw root ("." for the root)
    url: str | None = None
    fetched_at: str | None = None  # ISO 8601, when known (scraped pages)
    sha256: str = ""  # of the raw bytes as read from disk (after gunzip)
    format: str = ""  # "html" | "text"
    encoding: str = ""  # the codec the bytes were decoded with
    absolute_path: str = ""  # not written to records: runs differ in where raw/ lives


@dataclass
class Block:
    """A unit of main content: heading, paragraph, list item, table or caption."""

    start: int
    end: int
    kind: str = "paragraph"  # heading | paragraph | list_item | table | caption
    level: int = 0  # heading level (1-6) for headings, nesting depth for list items
    path: str = ""  # DOM path for HTML blocks (used for cross-page learning), "" for text
    lang: str = "other"  # en | zh | other
    lang_confidence: float = 0.0
    list_id: int | None = None  # blocks of one list share an id


@dataclass
class Section:
    """A labelled (or inferred) section of an abstract in one language."""

    lang: str
    key: str  # background | objective | methods | results | conclusions | keywords | other
    start: int  # body span, header excluded
    end: int
    header: str = ""  # the header as written ("BACKGROUND", "目的", "【方法】")
    abstract: int = 0  # which abstract on the page (0 = first of that language)
    inferred: bool = False  # True when the key came from a labeller, not a header


@dataclass
class Sentence:
    start: int
    end: int
    lang: str
    section: str | None = None  # key of the Section it lies in, if any
    block: int = -1  # index into Document.blocks


@dataclass
class SentenceLink:
    en: list[int]  # indices into the English sentence list (Document.sentences_in("en"))
    zh: list[int]
    score: float


@dataclass
class Alignment:
    sections: list[tuple[str, str]] = field(default_factory=list)  # (en_key, zh_key), in order
    sentences: list[SentenceLink] = field(default_factory=list)


@dataclass
class Failure:
    stage: str
    error: str


@dataclass
class Document:
    id: str
    source: Source
    raw: bytes = b""
    markup: str = ""  # decoded page: HTML source or plain text
    # markup's exact UTF-8 encoding when ingest has it (the page's own bytes), so the HTML
    # parser need not encode the markup again; None otherwise.
    markup_utf8: bytes | None = None
    text: str = ""
    blocks: list[Block] = field(default_factory=list)
    page_meta: dict[str, list[str]] = field(default_factory=dict)  # HTML <meta>, <title>, JSON-LD
    sections: list[Section] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    alignment: Alignment = field(default_factory=Alignment)
    fields: dict[str, Any] = field(default_factory=dict)  # extract's output, keyed like the Record
    warnings: list[dict[str, str]] = field(default_factory=list)
    failure: Failure | None = None

    def span(self, start: int, end: int) -> str:
        return self.text[start:end]

    def block_text(self, block: Block) -> str:
        return self.text[block.start : block.end]

    def sentences_in(self, lang: str) -> list[Sentence]:
        """The sentences of one language, in text order: the lists records index into."""
        return [s for s in self.sentences if s.lang == lang]

    def warn(self, code: str, detail: str) -> None:
        self.warnings.append({"code": code, "detail": detail})

    @property
    def failed(self) -> bool:
        return self.failure is not None
