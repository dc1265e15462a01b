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
from abstractpipe.patterns import script_lang

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
    passed_over: Callable[[str], bool]  # author lines, addresses, citation lines: no titles
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
        # Words of letters: "Vol. 41 No. 3" (an English masthead line) has two.
        return len(re.findall(r"[^\W\d_]{2,}", text)) >= self.min_words

    def title(self, doc: Document) -> str | None:
        found = self.title_block(doc)
        return found[1] if found else None

    def title_block(self, doc: Document) -> tuple[int, str] | None:
        """The first title-like block going back from the anchor, then (after a citation line)
        going forward, over bylines and label lines, and its text; a title after the citation
        line may end with a full stop as PubMed writes it, which is dropped."""
        for indices, final_stop in ((self.before(doc), False), (self.after(doc), True)):
            for index in indices:
                text = self._title_text(doc, index, final_stop)
                if text is None:
                    continue
                if text:
                    return index, text
                break
        return None

    def companion_title(self, doc: Document, index: int, lang: str) -> str | None:
        """The other language's title right next to the title at ``index`` (a bilingual header:
        "甲状腺…分析" / "Analysis of …"), with only bylines and addresses between them."""
        for step in (1, -1):
            other = index + step
            while 0 <= other < len(doc.blocks) and doc.blocks[other].start < self.abstract_start:
                text = doc.block_text(doc.blocks[other]).strip()
                if self.passed_over(text):
                    other += step
                    continue
                found = self._title_text(doc, other, final_stop=self.citation and other > self.anchor)
                if found and script_lang(found) == lang:
                    return found
                break
        return None

    def _title_text(self, doc: Document, index: int, final_stop: bool) -> str | None:
        """A block's text as a title; None for a block passed over, "" for one that is no title."""
        block = doc.blocks[index]
        text = doc.block_text(block).strip()
        # Passed over: bylines, label lines ("Author information:") and lines too short
        # for a title (the end of a wrapped address, "上海200011"; a rubric).
        if self.passed_over(text) or (len(text) < 40 and text.endswith((":", "："))):
            return None
        if not self.long_enough(text):
            return None
        if final_stop and text.endswith(".") and not text.endswith(".."):
            text = text[:-1]
        if (
            block.kind in ("paragraph", "heading")
            and not text.endswith((".", "。"))
            and "@" not in text
            and not _LABEL_RE.match(text)
        ):
            return text
        return ""


class TitleFinder:
    def __init__(self, site_suffix: str, min_second_title_words: int = 4) -> None:
        self.site_suffix = re.compile(site_suffix)
        self.min_second_title_words = min_second_title_words

    def strip_site(self, title: str) -> str:
        """ "Title | Journal | Full Text" -> "Title": suffixes after " | " are taken off one after
        another (titles hardly hold a bar), then at most one more ("A - Part 1 | Blog" keeps
        "A - Part 1"; "Title - a trial - Journal" keeps "Title - a trial")."""
        while True:
            stripped = self.site_suffix.sub("", title)
            if stripped == title or not stripped.strip():
                return title
            if not title[len(stripped) :].lstrip().startswith("|"):
                return stripped
            title = stripped
            if not re.search(r"\s\|\s[^|]*$", title):
                return title

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

        # Headings of level 1 before the abstract (a Chinese and an English title on bilingual papers).
        # The longest one wins: short ones are journal rubrics ("基础研究", "Original Article").
        headings = sorted(
            (
                re.sub(r"\s+", " ", doc.block_text(b)).strip()
                for b in doc.blocks
                if b.start < limit and b.kind == "heading" and b.level == 1
            ),
            key=lambda t: (-len(t), t),
        )

        def whole(title: str) -> str:
            # <title> and og:title are often cut short ("Remote ischaemic conditioning in acute
            # stroke - Journal" over an <h1> that goes on ": a multicentre randomised trial").
            title = re.sub(r"\s+", " ", title).strip()
            for heading in headings:
                extends = len(heading) > len(title) and heading.lower().startswith(title.lower())
                rest = heading[len(title) :]
                # The heading goes on with words ("¶" or "#" after it is a permalink sign).
                if extends and not rest[0].isalnum() and re.search(r"\w{2}", rest):
                    return heading
            return title

        meta = doc.page_meta
        for key in ("citation_title", "dc.title"):
            for value in meta.get(key) or []:
                offer(value)
        offer(jsonld_title)
        page_titles = meta.get("title") or []
        for value in meta.get("og:title") or []:
            # og:title carries the site's suffix when the page's <title> has the same one.
            stripped = self.strip_site(value)
            suffix = value[len(stripped) :]
            same_site = stripped != value and any(t != value and t.endswith(suffix) for t in page_titles)
            # (A heading that goes on from the stripped title is the title either way.)
            offer(whole(stripped) if same_site or whole(stripped) != stripped else value)
        for value in page_titles:
            offer(whole(self.strip_site(value)))
        for text in headings:
            offer(text)
        # Text dumps: the title line near the citation line (or before the abstract).
        if header is not None and (found := header.title_block(doc)):
            offer(found[1])
            # A bilingual header gives the other language's title next to it.
            for lang in titles:
                if not titles[lang]:
                    offer(header.companion_title(doc, found[0], lang))
        # Bilingual papers with one title in an <h1> give the other language's in a heading of
        # level 2 ("<h2 class=en_title>"): the longest one before the abstracts, if long enough.
        if doc.source.format == "html" and sum(1 for t in titles.values() if t) == 1:
            seconds = [
                re.sub(r"\s+", " ", doc.block_text(b)).strip()
                for b in doc.blocks
                if b.start < limit and b.kind == "heading" and b.level == 2
            ]
            for text in sorted(seconds, key=lambda t: (-len(t), t)):
                lang = script_lang(text)
                if lang in titles and not titles[lang] and self.long_enough(text, lang):
                    offer(text)
        return titles

    def long_enough(self, text: str, lang: str) -> bool:
        if text.rstrip().endswith((":", "：")):
            return False
        if lang == "zh":
            return sum("\u4e00" <= c <= "\u9fff" for c in text) >= 2 * self.min_second_title_words
        return len(text.split()) >= self.min_second_title_words
