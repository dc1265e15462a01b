"""The page's title in English and Chinese.

Sources in order: HTML meta (citation_title, og:title, JSON-LD headline,
<title> minus its " | Site" suffix), the first heading of level 1, and in text
dumps the block just before the citation line.  Each goes to title.en or
title.zh by its script.
"""

from __future__ import annotations

import re

from abstractpipe.document import Document
from abstractpipe.sections import script_lang

_LABEL_RE = re.compile(r"^\S{1,12}\s*[:：]")


class TitleFinder:
    def __init__(self, site_suffix: str) -> None:
        self.site_suffix = re.compile(site_suffix)

    def find(
        self, doc: Document, jsonld_title: str | None, citation_block: int | None, limit: int
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
        # Text dumps: the line just before the citation line, unless it is an address or a label.
        if citation_block is not None and citation_block > 0 and doc.source.format != "html":
            before = doc.blocks[citation_block - 1]
            text = doc.block_text(before)
            if (
                before.kind in ("paragraph", "heading")
                and not text.rstrip().endswith((".", "。"))
                and "@" not in text
                and not _LABEL_RE.match(text)
            ):
                offer(text)
        return titles
