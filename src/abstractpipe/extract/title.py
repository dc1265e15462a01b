"""The page's title in English and Chinese.

Sources in order: HTML meta (citation_title, og:title, JSON-LD headline,
<title> minus its " | Site" suffix), the first heading of level 1, and in text
dumps the title line near the citation line (see DumpHeader).  Each goes to title.en or
title.zh by its script.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from abstractpipe.document import Document
from abstractpipe.sections import script_lang

_LABEL_RE = re.compile(r"^\S{1,12}\s*[:：]")
# How many blocks from the anchor a dump's title and byline are looked for in.
_HEADER_REACH = 8


@dataclass
class DumpHeader:
    """The head of a text dump: blocks around an anchor (the citation line, or the first block
    of the abstract when there is no citation line), up to the abstract.

    Title, authors and affiliations come in any order there: PubMed's abstract format puts
    the citation line first and the title after it ("1. JAMA. 2020 Jun 2;…" / "Association
    of …." / "Fischer H(1), …"), web dumps put the title first.
    """

    anchor: int
    abstract_start: int
    is_byline: Callable[[str], bool]  # author lines and addresses, passed over for the title
    citation: bool  # the anchor is a citation line (else the abstract: nothing after it)
    min_words: int = 1  # a title has at least these many words ("Abstract" is no title) …
    min_cjk_chars: int = 1  # … or, in Chinese, characters

    def before(self, doc: Document) -> Iterator[int]:
        yield from range(self.anchor - 1, max(-1, self.anchor - 1 - _HEADER_REACH), -1)

    def after(self, doc: Document) -> Iterator[int]:
        if not self.citation:
            return
        for index in range(self.anchor + 1, min(len(doc.blocks), self.anchor + 1 + _HEADER_REACH)):
            if doc.blocks[index].start >= self.abstract_start:
                return
            yield index

    def indices(self, doc: Document) -> Iterator[int]:
        yield from self.before(doc)
        yield from self.after(doc)

    def long_enough(self, text: str) -> bool:
        if script_lang(text) == "zh":
            return sum("\u4e00" <= c <= "\u9fff" for c in text) >= self.min_cjk_chars
        return len(text.split()) >= self.min_words

    def title(self, doc: Document) -> str | None:
        """The first title-like block going back from the anchor, then (after a citation line)
        going forward, over bylines and label lines; a title after the citation line may end
        with a full stop as PubMed writes it, which is dropped."""
        for indices, final_stop in ((self.before(doc), False), (self.after(doc), True)):
            for index in indices:
                block = doc.blocks[index]
                text = doc.block_text(block).strip()
                # Passed over: bylines, label lines ("Author information:") and lines too short
                # for a title (the end of a wrapped address, "上海200011"; a rubric).
                if self.is_byline(text) or (len(text) < 40 and text.endswith((":", "："))):
                    continue
                if not self.long_enough(text):
                    continue
                if final_stop and text.endswith(".") and not text.endswith(".."):
                    text = text[:-1]
                if (
                    block.kind in ("paragraph", "heading")
                    and not text.endswith((".", "。"))
                    and "@" not in text
                    and not _LABEL_RE.match(text)
                ):
                    return text
                break
        return None


class TitleFinder:
    def __init__(self, site_suffix: str) -> None:
        self.site_suffix = re.compile(site_suffix)

    def find(
        self, doc: Document, jsonld_title: str | None, header: DumpHeader | None, limit: int
    ) -> dict[str, str | None]:
        titles: dict[str, str | None] = {"en": None, "zh": None}

        def offer(text: str | None) -> None:
            if not text:
                return
            text = re.sub(r"\s+", " ", text).strip()
            lang = script_lang(text)
            if lang in titles and not titles[lang] and len(text) > 3:
                titles[lang] = text

        meta = doc.page_meta
        for key in ("citation_title", "dc.title"):
            for value in meta.get(key) or []:
                offer(value)
        offer(jsonld_title)
        for value in meta.get("og:title") or []:
            offer(value)
        for value in meta.get("title") or []:
            offer(self.site_suffix.sub("", value))
        # Headings of level 1 before the abstract (a Chinese and an English title on bilingual papers).
        # The longest one wins: short ones are journal rubrics ("基础研究", "Original Article").
        headings = [
            doc.block_text(b) for b in doc.blocks if b.start < limit and b.kind == "heading" and b.level == 1
        ]
        for text in sorted(headings, key=lambda t: (-len(t), t)):
            offer(text)
        # Text dumps: the title line near the citation line (or before the abstract).
        if header is not None:
            offer(header.title(doc))
        return titles
