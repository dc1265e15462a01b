"""Cross-page boilerplate: blocks that recur on many pages of one site.

Only counts live between the passes: per site, the number of pages and, per
block key, on how many pages it occurs.  Keys are short digests of the
normalised text (text pages) or of DOM path + text (HTML pages).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter

from abstractpipe.clean.blocks import CleanBlock, fingerprint
from abstractpipe.clean.rules import CleanRules, RepetitionSettings


def block_key(block: CleanBlock) -> str:
    payload = f"{block.path}\x00{fingerprint(block.text)}" if block.path else fingerprint(block.text)
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=8).hexdigest()


class SiteRepetition:
    """Learns, per site, which blocks are repeated across pages."""

    def __init__(self, settings: RepetitionSettings) -> None:
        self.settings = settings
        self.pages: Counter[str] = Counter()
        self.occurrences: dict[str, Counter[str]] = {}
        self.repeated: dict[str, frozenset[str]] = {}

    def observe(self, site: str, blocks: list[CleanBlock]) -> None:
        self.pages[site] += 1
        counts = self.occurrences.setdefault(site, Counter())
        counts.update(sorted({block_key(b) for b in blocks}))

    def finish(self) -> None:
        """Decide the repeated set of every site; the raw counts are then released."""
        for site in sorted(self.occurrences):
            pages = self.pages[site]
            if pages < self.settings.min_pages:
                continue
            needed = max(self.settings.min_count, math.ceil(self.settings.min_share * pages))
            keys = frozenset(k for k, n in self.occurrences[site].items() if n >= needed)
            if keys:
                self.repeated[site] = keys
        self.occurrences.clear()

    def flags(self, site: str | None, blocks: list[CleanBlock]) -> list[bool]:
        keys = self.repeated.get(site or "")
        if not keys:
            return [False] * len(blocks)
        return [block_key(b) in keys for b in blocks]


def template_labels(
    blocks: list[CleanBlock], repeated: list[bool], rule_dropped: list[bool], rules: CleanRules
) -> list[bool]:
    """Repeated blocks that are template labels ("Key Findings", "Participants"): content.

    A repeated heading-like block is a label when the blocks after it, skipping only
    other repeated heading-like blocks, reach non-repeated content.  Repeated runs at
    the page start or end, menus (list items) and rule-dropped blocks never qualify,
    because they are followed by more boilerplate or by nothing.
    """

    def label_like(index: int) -> bool:
        block = blocks[index]
        if block.kind in ("list_item", "table") or rule_dropped[index]:
            return False
        return block.kind == "heading" or rules.heading_like(block.text)

    labels = [False] * len(blocks)
    for index in range(len(blocks)):
        if not repeated[index] or not label_like(index):
            continue
        following = index + 1
        while following < len(blocks) and repeated[following] and label_like(following):
            following += 1
        labels[index] = following < len(blocks) and not repeated[following] and not rule_dropped[following]
    return labels
