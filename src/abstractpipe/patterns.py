"""Regex building shared by the rule-driven stages.

Rule files turn into long alternations of literal words ("materials and methods|
methods|..."), scanned with ``finditer`` over every text.  Python's ``re`` tries
every branch of an alternation in turn at each position it reaches, and under
``(?i:...)`` it cannot skip a branch on its first character, so a lexicon of a
hundred words costs a hundred attempts per word start.  Grouping the branches by
their first character ("b(?:ackground|aseline)|m(?:ethods|aterials and methods)")
leaves one attempt per group, and the same matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence


def grouped_alternation(branches: Sequence[tuple[str, str]], *, ignore_case: bool) -> str:
    """``"|".join(regex for _, regex in branches)``, grouped by the first character of each word.

    ``branches`` are ``(word, regex)`` pairs in priority order, where ``regex`` matches
    ``word`` and starts with ``re.escape(word[0])``.  The result matches exactly what the
    flat alternation matches, with the same branch winning: a text character can start
    branches of one group only, and inside a group the branches keep their order.
    ``ignore_case`` says whether the pattern is used under ``(?i:...)``: then words that
    differ only in the case of their first letter share a group.  If the branches do not
    fit that shape (an empty word, a first character the regex does not start with, two
    groups whose first characters match each other), the flat alternation is returned.
    """
    flat = "|".join(regex for _, regex in branches)
    groups: dict[str, list[str]] = {}
    heads: dict[str, str] = {}
    for word, regex in branches:
        if not word:
            return flat
        head = re.escape(word[0])
        if word[0].isspace() or not regex.startswith(head):
            return flat
        key = word[0].lower() if ignore_case else word[0]
        heads.setdefault(key, head)
        groups.setdefault(key, []).append(regex[len(head) :])
    flags = re.IGNORECASE if ignore_case else 0
    keys = list(groups)
    for index, key in enumerate(keys):
        for other in keys[index + 1 :]:
            if re.fullmatch(heads[key], other, flags) or re.fullmatch(heads[other], key, flags):
                return flat
    return "|".join(f"{heads[key]}(?:{'|'.join(groups[key])})" for key in keys)


class WordStartPattern:
    """``(?<![A-Za-z])BODY`` with a ``finditer`` that lets ``re`` skip to where a match can start.

    ``BODY`` must start with a case-insensitive alternation of ``words`` (their leading
    spaces aside).  A pattern that opens with a lookbehind gives ``re`` no first character to
    scan for, so ``finditer`` runs the whole pattern at every position of the text (every
    branch at every Chinese character).  Read together with the character before it, a match
    starts with a non-letter, which ``re`` scans for in C, and a lookahead on the words' first
    characters drops most of the rest before any branch is tried.  ``finditer`` yields the
    matches of ``pattern.finditer`` in the same order with the same groups; only their own
    ``start()``/``group(0)`` may take in that one character before: read spans from groups.
    """

    def __init__(self, body: str, words: Iterable[str]) -> None:
        self.pattern = re.compile(rf"(?<![A-Za-z]){body}")
        firsts = {word.lstrip()[:1] for word in words}
        self._after: re.Pattern[str] | None = None
        if firsts and "" not in firsts:  # else a match may be empty: scan the plain way
            heads = "".join(sorted(re.escape(char) for char in firsts))
            # Under (?i) a class matches what its characters match as literals under (?i).
            self._after = re.compile(rf"[^A-Za-z](?=(?i:[{heads}])){body}")

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        if self._after is None:
            yield from self.pattern.finditer(text)
            return
        pos = 0
        match = self.pattern.match(text)  # at the very start there is no character before
        if match is not None:
            yield match
            pos = match.end()
        while True:
            # The character before a match may lie inside the previous one (it is only looked at).
            match = self._after.search(text, max(pos - 1, 0))
            if match is None:
                return
            yield match
            pos = match.end()
