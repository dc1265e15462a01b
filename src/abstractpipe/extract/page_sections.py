"""Sections of plain-language summary pages ("Simple Explanation", "Key Findings", …).

A page is a summary page when it has at least ``min_known_headings`` headings
of the lexicon.  From the first known heading on, each heading opens a section
keyed by the lexicon, else by its snake_case form.  A section made only of list
items becomes ``list[str]``, otherwise its paragraphs joined by a blank line.
Headings listed in ``with_subheadings`` ("Practical Implications") hold
sub-headings with a paragraph each; they become ``list[str]`` of
``"Sub-heading: text"`` so the sub-heading is kept and the shape matches the
other list sections.
"""

from __future__ import annotations

import re
from typing import Any

from abstractpipe.document import Block, Document


def snake_case(text: str) -> str:
    words = re.findall(r"[^\W_]+", text.lower())
    return "_".join(words)


class PageSectionsExtractor:
    def __init__(self, rules: dict[str, Any]) -> None:
        self.headings = {_norm(k): str(v) for k, v in (rules.get("headings") or {}).items()}
        self.with_subheadings = set(rules.get("with_subheadings") or [])
        self.stop = {_norm(w) for w in rules.get("stop_headings") or []}
        self.min_known = int(rules.get("min_known_headings", 2))
        self.list_marker = re.compile(str(rules.get("list_marker") or r"(?!)"))

    def is_heading(self, doc: Document, block: Block) -> bool:
        # A known heading written as a term of a definition list ("<dt>Study Duration</dt>") is
        # a paragraph after cleaning, but the block is only the heading.
        return block.kind == "heading" or _norm(doc.block_text(block)) in self.headings

    def extract(self, doc: Document) -> dict[str, str | list[str]]:
        blocks = doc.blocks
        heads = [i for i, b in enumerate(blocks) if b.kind == "heading"]
        known = [i for i in heads if _norm(doc.block_text(blocks[i])) in self.headings]
        if len(known) < self.min_known:
            return {}
        result: dict[str, str | list[str]] = {}
        parent: str | None = None  # a section holding sub-headings
        key: str | None = None
        items: list[Block] = []
        sub_items: list[str] = []

        def flush() -> None:
            if key is None:
                return
            if parent is not None and key == parent:
                if sub_items:
                    result.setdefault(key, list(sub_items))
                return
            value = _value(doc, items, self.list_marker)
            if value:
                result.setdefault(key, value)

        for block in blocks[known[0] :]:
            text = doc.block_text(block).strip()
            if self.is_heading(doc, block):
                norm = _norm(text)
                if norm in self.stop:
                    break
                if norm in self.headings:
                    flush()
                    key, items, sub_items = self.headings[norm], [], []
                    parent = key if key in self.with_subheadings else None
                    continue
                if parent is not None:
                    sub_items.append(f"{text}:")  # its text follows
                    continue
                flush()
                key, items = snake_case(text), []
                continue
            if parent is not None and key == parent:
                if sub_items and sub_items[-1].endswith(":"):
                    sub_items[-1] = f"{sub_items[-1]} {text}"
                elif sub_items:
                    sub_items[-1] = f"{sub_items[-1]}\n\n{text}"
                else:
                    sub_items.append(text)
                continue
            items.append(block)
        flush()
        return {k: v for k, v in result.items() if k}


def _value(doc: Document, blocks: list[Block], list_marker: re.Pattern[str]) -> str | list[str]:
    texts: list[str] = []
    all_items = True
    after_marker = False
    for block in blocks:
        text = doc.block_text(block).strip()
        if not text:
            continue
        if block.kind == "list_item" and list_marker.fullmatch(text):
            # "<li><span>1</span><p>text</p></li>": the number is its own block, the item's
            # text the paragraph after it.
            after_marker = True
            continue
        all_items = all_items and (block.kind == "list_item" or after_marker)
        after_marker = False
        texts.append(text)
    if not texts:
        return ""
    if all_items:
        return texts
    return "\n\n".join(texts)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().strip(":：").lower())
