"""Earlier, plainer versions of clean-stage internals that were since made faster.

Tests run both on varied pages and require the same results: the fast versions must not
change a single block (``test_clean_fastpaths``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from abstractpipe.clean.blocks import CleanBlock, normalise_space
from abstractpipe.clean.html import (
    _DOUBLE_BREAK_RE,
    BLOCK_TAGS,
    HEADING_TAGS,
    KIND_BY_TAG,
    LEAF_TAGS,
    HtmlElement,
    _is_data_table,
    _link_chars,
    _path_part,
    _text,
)


@dataclass(slots=True)
class _Flow:
    """Inline text gathered for one block-level element."""

    element: HtmlElement
    ancestors: tuple[HtmlElement, ...]
    path: str
    kind: str
    level: int = 0
    list_id: int | None = None
    pieces: list[tuple[str, bool]] = field(default_factory=list)  # (text, inside a link)


# A walk frame: children left to visit, flow receiving their text, list depth, inside <a>,
# whether the frame owns the flow (flushes it when done), and where the element's tail goes
# once its subtree is done (the parent's flow and link state, and the tail itself).
_Frame = tuple[Iterator[Any], _Flow, int, bool, bool, _Flow, bool, str | None]


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[CleanBlock] = []
        self.list_ids: dict[int, int] = {}
        # The list parents seen, held: a freed proxy's id could come back on another parent.
        self._list_parents: list[HtmlElement] = []

    def walk(self, root: HtmlElement) -> list[CleanBlock]:
        outer = [_path_part(p) for p in reversed(list(root.iterancestors()))]
        path = "/".join([*outer, _path_part(root)])
        flow = _Flow(element=root, ancestors=(root,), path=path, kind="paragraph")
        if root.text:
            flow.pieces.append((root.text, False))
        # An explicit stack, not recursion: real pages nest deeper than Python's recursion limit.
        # The current frame's fields are kept in locals; the stack holds the frames above it.
        frame: _Frame = (iter(root), flow, 0, False, True, flow, False, None)
        children, list_depth, in_link = frame[0], 0, False
        stack: list[_Frame] = []
        while True:
            child = next(children, None)
            if child is None:
                _, _, _, _, owns_flow, tail_flow, tail_in_link, tail = frame
                if owns_flow and flow.pieces:
                    self._flush(flow)
                if tail:
                    tail_flow.pieces.append((tail, tail_in_link))
                if not stack:
                    break
                frame = stack.pop()
                children, flow, list_depth, in_link = frame[0], frame[1], frame[2], frame[3]
                continue
            name = child.tag
            if not isinstance(name, str):  # an entity or other non-element node
                if child.tail:
                    flow.pieces.append((child.tail, in_link))
                continue
            if name not in BLOCK_TAGS and name != "br" and not len(child):
                # An inline element without children (most links, spans, images): its text and
                # tail go to the flow at once, as its frame would have put them.
                if child.text:
                    flow.pieces.append((child.text, in_link or name == "a"))
                if child.tail:
                    flow.pieces.append((child.tail, in_link))
                continue
            entered = self._enter(child, flow, list_depth, in_link)
            if entered is not None:
                stack.append(frame)
                frame = entered
                children, flow, list_depth, in_link = frame[0], frame[1], frame[2], frame[3]
            elif child.tail:
                flow.pieces.append((child.tail, in_link))
        return self.blocks

    def _enter(self, tag: HtmlElement, flow: _Flow, list_depth: int, in_link: bool) -> _Frame | None:
        """Handle one element; return the frame for its children, if they are to be visited."""
        name = tag.tag
        if name == "br":
            flow.pieces.append(("\n", in_link))
            return None
        if name not in BLOCK_TAGS:
            child_in_link = in_link or name == "a"
            if tag.text:
                flow.pieces.append((tag.text, child_in_link))
            return (iter(tag), flow, list_depth, child_in_link, False, flow, in_link, tag.tail)
        if flow.pieces:
            self._flush(flow)
        ancestors = (*flow.ancestors, tag)
        path = f"{flow.path}/{_path_part(tag)}"
        if name == "table" and _is_data_table(tag):
            self._table(tag, ancestors, path)
            return None
        if name == "hr":
            return None
        depth = list_depth + (1 if name in ("ul", "ol", "dl") else 0)
        child_flow = _Flow(element=tag, ancestors=ancestors, path=path, kind="paragraph")
        if name in HEADING_TAGS:
            child_flow.kind, child_flow.level = "heading", HEADING_TAGS[name]
        elif name == "li":
            parent = tag.getparent()
            key = id(parent) if parent is not None else id(tag)
            if key not in self.list_ids:
                self.list_ids[key] = len(self.list_ids)
                self._list_parents.append(parent if parent is not None else tag)
            child_flow.kind, child_flow.level = "list_item", max(1, list_depth)
            child_flow.list_id = self.list_ids[key]
        elif name in KIND_BY_TAG:
            child_flow.kind = KIND_BY_TAG[name]
        elif name not in LEAF_TAGS and flow.kind in ("list_item", "caption", "heading"):
            # A <div>/<span>-like block inside an item or caption still belongs to it.
            child_flow.kind, child_flow.level, child_flow.list_id = flow.kind, flow.level, flow.list_id
        if tag.text:
            child_flow.pieces.append((tag.text, in_link))
        return (iter(tag), child_flow, depth, in_link, True, flow, in_link, tag.tail)

    def _flush(self, flow: _Flow) -> None:
        if not flow.pieces:
            return
        pieces, flow.pieces = flow.pieces, []
        joined = "".join([text for text, _ in pieces])
        if not joined or joined.isspace():  # what strip() would leave empty, without the copy
            return
        link_chars = sum([len(normalise_space(text)) for text, linked in pieces if linked])
        if "\n" in joined:  # a blank line (two newlines) splits the text into blocks
            segments = [normalise_space(s) for s in _DOUBLE_BREAK_RE.split(joined)]
            segments = [s for s in segments if s]
        else:
            segments = [segment] if (segment := normalise_space(joined)) else []
        total = sum(len(s) for s in segments) or 1
        for segment in segments:
            self.blocks.append(
                CleanBlock(
                    text=segment,
                    kind=flow.kind,
                    level=flow.level,
                    list_id=flow.list_id,
                    path=flow.path,
                    link_chars=round(link_chars * len(segment) / total),
                    ancestors=flow.ancestors,
                )
            )

    def _table(self, table: HtmlElement, ancestors: tuple[HtmlElement, ...], path: str) -> None:
        rows: list[str] = []
        for row in table.iter("tr"):
            cells = [normalise_space(_text(c, " ")) for c in row.iter("td", "th")]
            cells = [c for c in cells if c]
            if cells:
                rows.append(" | ".join(cells))
        link_chars = _link_chars(table)
        caption = next(table.iter("caption"), None)
        if caption is not None:
            text = normalise_space(_text(caption, " "))
            if text:
                self.blocks.append(
                    CleanBlock(text=text, kind="caption", path=f"{path}/caption", ancestors=ancestors)
                )
        if rows:
            self.blocks.append(
                CleanBlock(
                    text="\n".join(rows), kind="table", path=path, link_chars=link_chars, ancestors=ancestors
                )
            )
