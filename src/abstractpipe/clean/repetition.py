"""Cross-page boilerplate: blocks that recur on many pages of one site.

Only counts live between the passes: per site, the number of pages and, per
block key, on how many pages it occurs.  Keys are short digests of the
normalised text (text pages) or of DOM path + text (HTML pages).
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path

from abstractpipe.clean.blocks import CleanBlock, fingerprint
from abstractpipe.clean.rules import CleanRules, RepetitionSettings

# Entry lines of a shard's counts file (``SiteRepetition.dump``); older files hold JSON lists.
_ENTRY_FORMAT = "site-json\tkey\tcount"


def site_part(site: str, parts: int) -> int:
    """Which of ``parts`` reduce parts a site's counts belong to (a stable hash, any process)."""
    digest = hashlib.blake2b(site.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % parts


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

    # -- sharded runs: counts per shard on disk, a streaming reduce, then the learned sets --

    def dump(self, path: Path) -> None:
        """Write this shard's counts (first line: pages per site; then sorted site, key, n) and reset.

        Entry lines are ``<site as JSON> TAB <key> TAB <n>``: the site is encoded once per site,
        not a JSON list per key (~34 dumps and loads per page otherwise). JSON escapes any
        tab or newline in a site; keys are hex digests.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".tmp")
        # Line by line: a list of every line first held the shard's counts twice over.
        with temp.open("w", encoding="utf-8", newline="\n") as out:
            header = {"pages": dict(sorted(self.pages.items())), "entries": _ENTRY_FORMAT}
            out.write(json.dumps(header, ensure_ascii=False) + "\n")
            for site in sorted(self.occurrences):
                counts = self.occurrences[site]
                prefix = json.dumps(site, ensure_ascii=False) + "\t"
                out.writelines(f"{prefix}{key}\t{counts[key]}\n" for key in sorted(counts))
        temp.replace(path)
        self.pages = Counter()
        self.occurrences = {}

    @staticmethod
    def _entries(lines: Iterator[str], tabbed: bool, part: int, parts: int) -> Iterator[tuple[str, str, int]]:
        """A shard file's entries for the sites of ``part`` (of ``parts``), in file order."""
        if not tabbed:  # a shard counted by an earlier version, kept by an incremental run
            for line in lines:
                site, key, count = json.loads(line)
                if parts == 1 or site_part(site, parts) == part:
                    yield site, key, count
            return
        sites: dict[str, str | None] = {}  # each site's JSON decoded once; None: another part's
        for line in lines:
            site_json = line[: line.index("\t")]
            if site_json in sites:
                site = sites[site_json]
            else:
                decoded = json.loads(site_json)
                site = sites[site_json] = decoded if parts == 1 or site_part(decoded, parts) == part else None
            if site is None:
                continue  # another part's site: skipped before the rest of the line is read
            _, key, count = line.rstrip("\n").split("\t")
            yield site, key, int(count)

    def reduce_part(self, paths: list[Path], part: int, parts: int) -> dict[str, list[str]]:
        """The repeated keys of the sites of ``part`` (``site_part``), merging the shard files'
        sorted entries as streams.

        Memory holds the page counts per site and the repeated keys, never every key of
        every shard: the same decision ``finish`` makes over in-memory counts.  The parts
        share no site, so any number of them, reduced anywhere, join into the same sets.
        """
        pages: Counter[str] = Counter()
        with ExitStack() as stack:
            handles = [stack.enter_context(path.open(encoding="utf-8")) for path in paths]
            streams = []
            for handle in handles:
                header = json.loads(handle.readline())
                pages.update(header["pages"])
                tabbed = header.get("entries") == _ENTRY_FORMAT
                streams.append(self._entries(handle, tabbed, part, parts))
            merged = heapq.merge(*streams)
            repeated: dict[str, list[str]] = {}
            for (site, key), group in itertools.groupby(merged, key=lambda entry: entry[:2]):
                total = sum(entry[2] for entry in group)
                if pages[site] < self.settings.min_pages:
                    continue
                needed = max(self.settings.min_count, math.ceil(self.settings.min_share * pages[site]))
                if total >= needed:
                    repeated.setdefault(site, []).append(key)
        return repeated

    def join_parts(self, parts: list[dict[str, list[str]]]) -> None:
        """The learned sets from every part's ``reduce_part``; the raw counts are released."""
        self.pages = Counter()
        self.occurrences = {}
        self.repeated = {site: frozenset(keys) for part in parts for site, keys in part.items()}

    def save(self, path: Path) -> None:
        payload = {site: sorted(keys) for site, keys in sorted(self.repeated.items())}
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".tmp")
        temp.write_text(json.dumps(payload, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        temp.replace(path)

    def load(self, path: Path) -> None:
        payload = json.loads(path.read_text(encoding="utf-8"))
        self.repeated = {site: frozenset(keys) for site, keys in payload.items()}

    def digest(self, sites: Iterable[str]) -> str:
        """Digest of the repeated sets of ``sites`` (a page's cleaning depends on its site's only)."""
        relevant = [
            [site, sorted(self.repeated[site])] for site in sorted(set(sites)) if site in self.repeated
        ]
        return hashlib.sha256(json.dumps(relevant, ensure_ascii=False).encode("utf-8")).hexdigest()

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
