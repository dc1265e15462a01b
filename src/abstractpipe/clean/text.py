"""Plain-text page dumps -> blocks.

A dump is lines and blank lines; bullets look like ``"  • Home"``, numbered
items like ``"  1. Home"``, and a bullet may hold only a number with its text
on the next, deeper-indented line (``"  • 1\\n    The review…"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from abstractpipe.clean.blocks import CleanBlock, cjk_count, ends_sentence, normalise_space
from abstractpipe.clean.rules import CleanRules

_BULLET_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<mark>[•·▪◦●○■□‣⁃*\-–])[ \t]+(?P<body>\S.*)$")
_NUMBERED_RE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<mark>\d{1,3}[.)]|[a-z][.)]|\(\d{1,3}\))[ \t]+(?P<body>\S.*)$"
)
_BARE_NUMBER_RE = re.compile(r"^\(?\d{1,3}[.)]?$")
# What the first character after a line's indent must be for _BULLET_RE or _NUMBERED_RE to match
# (besides a decimal digit): lines starting otherwise skip both patterns.
_MARK_STARTS = frozenset("•·▪◦●○■□‣⁃*-–(abcdefghijklmnopqrstuvwxyz")


@dataclass
class _Line:
    text: str  # stripped
    indent: int
    bullet: str | None  # "bullet" | "number" | None
    blank: bool


_ATX_HEADING_RE = re.compile(r"^(?P<marks>#{1,6})\s+(?P<body>.*?)(?:\s+#+)?\s*$")


def _read_lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        expanded = raw.replace("\t", "    ").replace("\u00a0", " ").rstrip()
        stripped = expanded.strip()
        indent = len(expanded) - len(expanded.lstrip(" "))
        bullet = None
        body = stripped
        start = expanded[indent : indent + 1]
        if start in _MARK_STARTS or start.isdecimal():  # else neither pattern can match
            if match := _BULLET_RE.match(expanded):
                bullet, body = "bullet", match["body"]
            # "1. Home" is an item; a long unindented line starting "1." may be a numbered
            # paragraph, so only indented or short numbered lines count as items.
            elif (match := _NUMBERED_RE.match(expanded)) and (indent > 0 or len(match["body"]) <= 120):
                bullet, body = "number", match["body"]
        lines.append(_Line(text=body.strip(), indent=indent, bullet=bullet, blank=not stripped))
    return lines


def _joins_wrapped(previous: str, following: str, wrap_min_chars: int) -> bool:
    """True when two adjacent lines are clearly one hard-wrapped paragraph."""
    if len(previous) < wrap_min_chars or ends_sentence(previous) or previous.endswith((":", "：")):
        return False
    first = following[:1]
    if cjk_count(previous[-1:]) and cjk_count(first):
        return True
    return first.islower() or previous.endswith(("-", ",", "，", "、"))


def parse_text(text: str, rules: CleanRules) -> list[CleanBlock]:
    """Split a plain-text dump into paragraph, list_item and heading blocks."""
    lines = _read_lines(text)
    # For each line, the first non-blank line at or after it (None at the end): found in one
    # backward pass, not by scanning the rest of the page at every blank line.
    next_filled: list[_Line | None] = [None] * (len(lines) + 1)
    for position in range(len(lines) - 1, -1, -1):
        next_filled[position] = lines[position] if not lines[position].blank else next_filled[position + 1]
    blocks: list[CleanBlock] = []
    groups: list[int] = []  # per block: which run of lines without a blank line it belongs to
    group = 0
    next_list_id = 0
    current_list: int | None = None
    list_kind: str | None = None
    base_indent = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.blank:
            group += 1
            index += 1
            # A blank line ends a list unless the next non-blank line is an item of the same kind.
            following = next_filled[index]
            if following is None or following.bullet != list_kind:
                current_list, list_kind = None, None
            continue
        if line.bullet:
            if current_list is None or line.bullet != list_kind:
                current_list, list_kind, base_indent = next_list_id, line.bullet, line.indent
                next_list_id += 1
            parts = [] if _BARE_NUMBER_RE.match(line.text) else [line.text]
            index += 1
            # Deeper-indented non-bullet lines continue the item ("• 1" then its text).
            while index < len(lines):
                nxt = lines[index]
                if nxt.blank or nxt.bullet or nxt.indent <= line.indent:
                    break
                parts.append(nxt.text)
                index += 1
            body = normalise_space(" ".join(parts))
            if body:
                depth = 1 + max(0, (line.indent - base_indent) // 2)
                blocks.append(CleanBlock(text=body, kind="list_item", level=depth, list_id=current_list))
                groups.append(-1)
            continue
        current_list, list_kind = None, None
        # Markdown-style dumps (e.g. PDF conversions) mark headings with "#": keep the level,
        # drop the marks.
        if (atx := _ATX_HEADING_RE.match(line.text)) and line.indent == 0:
            index += 1
            heading = normalise_space(atx["body"])
            if heading:
                blocks.append(CleanBlock(text=heading, kind="heading", level=len(atx["marks"])))
                groups.append(-1)
            continue
        paragraph = line.text
        index += 1
        while (
            index < len(lines)
            and not lines[index].blank
            and not lines[index].bullet
            and _joins_wrapped(paragraph, lines[index].text, rules.text.wrap_min_chars)
        ):
            joiner = "" if cjk_count(paragraph[-1:]) and cjk_count(lines[index].text[:1]) else " "
            paragraph = paragraph + joiner + lines[index].text
            index += 1
        paragraph = normalise_space(paragraph)
        if paragraph:
            blocks.append(CleanBlock(text=paragraph, kind="paragraph"))
            groups.append(group)
    mark_text_headings(blocks, groups, rules)
    return blocks


def mark_text_headings(blocks: list[CleanBlock], groups: list[int], rules: CleanRules) -> None:
    """Find heading lines.

    A run of lines without blank lines between them that alternates label / value
    ("Participants" / "949 patients with SCI") gives headings at the label positions.
    Elsewhere a heading-like line is a heading when the next block is longer or is
    itself a heading (a section label followed by its first sub-heading).
    """
    members: dict[int, list[int]] = {}
    for index, group in enumerate(groups):
        if group >= 0:
            members.setdefault(group, []).append(index)
    in_label_group: set[int] = set()
    for indices in members.values():
        labels = indices[0::2]
        if (
            len(indices) >= 4
            and len(indices) % 2 == 0
            and all(rules.heading_like(blocks[i].text) for i in labels)
        ):
            in_label_group.update(indices)
            for i in labels:
                blocks[i].kind, blocks[i].level = "heading", 2
    for index in range(len(blocks) - 2, -1, -1):
        block, following = blocks[index], blocks[index + 1]
        if block.kind != "paragraph" or index in in_label_group or not rules.heading_like(block.text):
            continue
        if len(following.text) > len(block.text) or following.kind == "heading":
            block.kind, block.level = "heading", 2
