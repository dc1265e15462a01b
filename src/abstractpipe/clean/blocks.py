"""Blocks as the cleaner sees them before they become offsets into ``Document.text``."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from abstractpipe.document import Block

BLOCK_SEPARATOR = "\n\n"
# CJK ideographs, kana and hangul each count as one token: no whitespace word counts in Chinese.
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
# One pass for token_count: a CJK character, or a run of other non-space characters.
_TOKEN_RE = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]"
    r"|[^\s\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
    r"\u3000-\u303f\uff00-\uffef]+"
)
_PUNCT_RE = re.compile(r"[,.;:!?，。；：！？、]")
_TERMINAL_RE = re.compile(r"[.!?;。！？；…]['\"”’)）]*$")


@dataclass(slots=True)
class CleanBlock:
    """One block of text with where it came from; ``text`` is whitespace-normalised."""

    text: str
    kind: str = "paragraph"  # heading | paragraph | list_item | table | caption
    level: int = 0
    list_id: int | None = None
    path: str = ""
    link_chars: int = 0  # characters inside <a> (HTML only)
    ancestors: tuple[Any, ...] = ()  # HTML container elements, outermost first (not kept past cleaning)

    def __reduce__(self) -> tuple[type[CleanBlock], tuple[Any, ...]]:
        # Pickled as constructor arguments: parsed pages go to a work file between a run's two
        # passes, and the default pickling of a slots dataclass (a state dict per block) was slower.
        return (
            CleanBlock,
            (self.text, self.kind, self.level, self.list_id, self.path, self.link_chars, self.ancestors),
        )


@dataclass
class CleanedPage:
    """The result of cleaning one page: kept blocks, page metadata, what was dropped."""

    blocks: list[CleanBlock] = field(default_factory=list)
    page_meta: dict[str, list[str]] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled as one list per block field (a parsed page goes to the work file between a
        # run's passes): a third less time to dump than a constructor call per block.
        blocks = self.blocks
        columns = (
            [b.text for b in blocks],
            [b.kind for b in blocks],
            [b.level for b in blocks],
            [b.list_id for b in blocks],
            [b.path for b in blocks],
            [b.link_chars for b in blocks],
            [b.ancestors for b in blocks],
        )
        return _page_from_columns, (columns, self.page_meta, self.counters)

    @property
    def text(self) -> str:
        return BLOCK_SEPARATOR.join(b.text for b in self.blocks)

    @property
    def body_text(self) -> str:
        """``text`` without the page title (a level-1 heading opening the content).

        The record keeps the title in ``title`` as well; this is the article body alone, as
        article-body gold data (scrapinghub's) has it.
        """
        blocks = self.blocks
        if blocks and blocks[0].kind == "heading" and blocks[0].level == 1:
            blocks = blocks[1:]
        return BLOCK_SEPARATOR.join(b.text for b in blocks)

    def to_document_parts(self) -> tuple[str, list[Block]]:
        """The cleaned text and its blocks with character offsets into it."""
        parts: list[str] = []
        blocks: list[Block] = []
        offset = 0
        for index, block in enumerate(self.blocks):
            if index:
                offset += len(BLOCK_SEPARATOR)
            parts.append(block.text)
            blocks.append(
                Block(
                    start=offset,
                    end=offset + len(block.text),
                    kind=block.kind,
                    level=block.level,
                    path=block.path,
                    list_id=block.list_id,
                )
            )
            offset += len(block.text)
        return BLOCK_SEPARATOR.join(parts), blocks


def _page_from_columns(
    columns: tuple[list[Any], ...], page_meta: dict[str, list[str]], counters: Counter[str]
) -> CleanedPage:
    """A ``CleanedPage`` from what its ``__reduce__`` gave."""
    return CleanedPage(blocks=list(map(CleanBlock, *columns)), page_meta=page_meta, counters=counters)


def normalise_space(text: str) -> str:
    """Collapse every run of whitespace (NBSP and newlines included) to one space."""
    # str.split() splits on exactly the characters \s matches (NBSP among them), faster.
    return " ".join(text.replace("\u200b", "").split())


def fingerprint(text: str) -> str:
    """Text key for cross-page repetition: case- and space-insensitive."""
    # Block texts come normalised almost always. A printable text holds no whitespace but ASCII
    # spaces and no U+200B (test: every code point), so without a leading, trailing or double
    # space it is already what normalise_space would make of it; isprintable() is one C scan.
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text.casefold()
    return normalise_space(text).casefold()


# Every character _TOKEN_RE treats apart from other non-space characters is at or above U+3000.
_WIDE_RE = re.compile("[\u3000-\uffff]")


def token_count(text: str) -> int:
    """Words for alphabetic scripts plus one per CJK character."""
    if text.isascii() or not _WIDE_RE.search(text):
        return len(text.split())  # str.split() and \s split on the same whitespace
    return _TOKEN_RE.subn("", text)[1]  # the number of matches, without a list of them


def cjk_count(text: str) -> int:
    return len(_CJK_RE.findall(text))


def punctuation_count(text: str) -> int:
    return len(_PUNCT_RE.findall(text))


def ends_sentence(text: str) -> bool:
    return bool(_TERMINAL_RE.search(text))


def is_heading_like(text: str, max_chars: int, max_words: int, max_cjk_chars: int) -> bool:
    """Short and without sentence-final punctuation: a label, title or menu entry."""
    if not text or len(text) > max_chars or ends_sentence(text):
        return False
    cjk = cjk_count(text)
    if cjk:
        return cjk <= max_cjk_chars
    return len(text.split()) <= max_words
