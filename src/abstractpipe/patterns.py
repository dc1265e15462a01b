"""Regex building shared by the rule-driven stages, and rule-file patterns with the
substring pre-tests that let a scan be skipped (``PatternRule``, ``case_blind``).

Rule files turn into long alternations of literal words ("materials and methods|
methods|..."), scanned with ``finditer`` over every text.  Python's ``re`` tries
every branch of an alternation in turn at each position it reaches, and under
``(?i:...)`` it cannot skip a branch on its first character, so a lexicon of a
hundred words costs a hundred attempts per word start.  Grouping the branches by
their first character ("b(?:ackground|aseline)|m(?:ethods|aterials and methods)")
leaves one attempt per group, and the same matches.

A pattern that opens with a lookbehind ("(?<![A-Za-z])" before a lexicon word) gives
``re`` nothing to scan for, so it is tried at every position; ``WordStartPattern`` and
``WordStartPatterns`` find the same matches from the few positions where one can start.

``script_counts`` and ``script_lang`` tell English from Chinese text by its script, for
the sections and extract stages alike.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

# A named group's opening in a pattern's source (in an escaped word "(" follows a backslash).
_GROUP_NAME = re.compile(r"\(\?P<\w+>")
# A Han character (what decides that text is Chinese for the sections and extract stages).
CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Inline maths of PDF conversions ("$P{<}0.05$") says nothing about the language.
INLINE_MATH = re.compile(r"\$[^$]{0,400}\$")


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


def first_characters(words: Iterable[str], *, ignore_case: bool = True) -> str | None:
    """A regex for one character that takes the first character of every word as matched.

    ``ignore_case`` says whether the words are matched case-insensitively (a superset of
    case-sensitive matching).  None when a word is empty or starts with a space (a match
    may then start anywhere).
    """
    firsts = {word[:1] for word in words}
    if not firsts or any(not char or char.isspace() for char in firsts):
        return None
    chars = "[" + "".join(sorted(re.escape(char) for char in firsts)) + "]"
    # Under (?i) a class matches what each of its characters matches as a literal under (?i).
    return f"(?i:{chars})" if ignore_case else chars


class WordStartPattern:
    """``(?<![NOT_AFTER])BODY`` with a ``finditer`` that lets ``re`` skip to where a match can start.

    A pattern that opens with a lookbehind gives ``re`` no first character to scan for, so
    ``finditer`` runs the whole pattern at every position of the text (for a lexicon, every
    branch at every Chinese character).  Read together with the character before it, a match
    starts with a character outside ``NOT_AFTER``, which ``re`` scans for in C, followed by
    one that ``first`` (a one-character regex, e.g. from ``first_characters``) takes: most
    positions fail there before any branch is tried.  ``finditer`` yields exactly the matches
    of ``pattern.finditer``; ``first`` None leaves the plain scan.
    """

    def __init__(self, body: str, first: str | None, not_after: str = "A-Za-z") -> None:
        self.pattern = re.compile(rf"(?<![{not_after}]){body}")
        self.body, self.first, self.not_after = body, first, not_after
        self._after = re.compile(rf"[^{not_after}](?={first}){body}") if first else None

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self.pattern.match(text, pos)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        if self._after is None:
            yield from self.pattern.finditer(text)
            return
        pattern = self.pattern
        match = pattern.match(text)  # at the very start there is no character before
        end = 0
        if match is not None:
            yield match
            end = match.end()
        while True:
            # The character before a match may lie inside the previous one (it is only looked at).
            found = self._after.search(text, max(end - 1, 0))
            if found is None:
                return
            # The same match, read by the plain pattern (which then starts at the body).
            match = pattern.match(text, found.start() + 1)
            assert match is not None and match.end() == found.end()
            yield match
            end = match.end()


class WordStartPatterns:
    """Several ``WordStartPattern`` sharing their lookbehind, scanned in one pass for all.

    One search finds the places where any of them matches (a lookahead per pattern, their
    groups made non-capturing); each pattern is then matched there, keeping to its own
    ``finditer`` order (a match may not start inside that pattern's previous one).
    """

    def __init__(self, patterns: Sequence[WordStartPattern]) -> None:
        self.patterns = list(patterns)
        # (anywhere after the first character, at the first character) or None: scan each.
        self._any: tuple[re.Pattern[str], re.Pattern[str]] | None = None
        not_after = {pattern.not_after for pattern in self.patterns}
        if self.patterns and len(not_after) == 1 and all(pattern.first for pattern in self.patterns):
            firsts = "|".join(f"{pattern.first}" for pattern in self.patterns)
            bodies = "|".join(
                f"(?={pattern.first})(?:{_GROUP_NAME.sub('(?:', pattern.body)})" for pattern in self.patterns
            )
            anywhere = re.compile(rf"[^{not_after.pop()}](?=(?:{firsts}))(?={bodies})")
            self._any = (anywhere, re.compile(rf"(?=(?:{firsts}))(?={bodies})"))

    def finditer_each(self, text: str) -> list[list[re.Match[str]]]:
        """``list(pattern.finditer(text))`` for each pattern, in order."""
        if self._any is None:
            return [list(pattern.finditer(text)) for pattern in self.patterns]
        anywhere, at_start = self._any
        found: list[list[re.Match[str]]] = [[] for _ in self.patterns]
        ends = [0] * len(self.patterns)
        places: Iterable[int] = (hit.start() + 1 for hit in anywhere.finditer(text))
        if at_start.match(text):  # at 0 there is no character before
            places = itertools.chain((0,), places)
        for pos in places:
            for index, pattern in enumerate(self.patterns):
                if pos >= ends[index] and (match := pattern.pattern.match(text, pos)) is not None:
                    found[index].append(match)
                    ends[index] = match.end()
        return found


def ascii_lowered_words(words: Iterable[str]) -> list[str] | None:
    """``words`` lower-cased for a case-sensitive search of an ASCII text lower-cased.

    On an ASCII text, a word matched under (?i) matches where the lower-cased word matches the
    lower-cased text, and a word with a character no ASCII character matches under (?i)
    ("大学") matches nowhere: it is left out.  None when a word has a non-ASCII character that
    an ASCII one matches under (?i) ("ſ" matches "s", the Kelvin sign "k"): lower() misses it.
    """
    kept: list[str] = []
    for word in words:
        if word.isascii():
            kept.append(word.lower())
            continue
        for char in {char for char in word if not char.isascii()}:
            if any(re.fullmatch(f"(?i:{re.escape(char)})", chr(code)) for code in range(128)):
                return None
    return kept


# Characters re's (?i) equates with an ASCII letter that str.lower() does not lower to
# it: U+0130 (lowers to "i" + U+0307), U+0131 and U+017F (lower to themselves).  The
# Kelvin sign lowers to "k" already (tests/test_language.py checks every code point).
_CASE_BLIND_EXTRA = {"\u0130": "i", "\u0131": "i", "\u017f": "s"}
_CASE_BLIND_TABLE = str.maketrans(_CASE_BLIND_EXTRA)


def case_blind(text: str) -> str:
    """``text`` lower-cased so that where an ASCII string matches under (?i), it occurs lowered."""
    # str.translate is slow on non-ASCII text: only the rare text holding one of them needs it.
    if not text.isascii() and any(extra in text for extra in _CASE_BLIND_EXTRA):
        text = text.translate(_CASE_BLIND_TABLE)
    return text.lower()


@dataclass(frozen=True)
class PatternRule:
    """A rule file's pattern and the strings one of which a text must hold for it to match.

    Written ``pattern`` or ``{pattern, needs, needs_any_case}``: ``needs`` are
    compared as written, ``needs_any_case`` (ASCII) as a ``(?i)`` pattern compares
    letters.  A substring test is far cheaper than a scan by a pattern re cannot
    search quickly (a leading ``\\b``, ``(?i)``); with no needs it is always tried.
    The tests check that no match lacks its needs.
    """

    pattern: re.Pattern[str]
    needs: tuple[str, ...] = ()
    needs_any_case: tuple[str, ...] = ()  # lower-cased

    @classmethod
    def from_entry(cls, entry: Any) -> PatternRule:
        if not isinstance(entry, dict):
            return cls(re.compile(str(entry)))
        any_case = tuple(str(n).lower() for n in entry.get("needs_any_case") or ())
        if not all(n.isascii() for n in any_case):
            raise ValueError(f"needs_any_case must be ASCII: {any_case}")
        return cls(
            re.compile(str(entry["pattern"])), tuple(str(n) for n in entry.get("needs") or ()), any_case
        )

    def may_match(self, text: str, folded: str | None = None) -> bool:
        """False only when the pattern cannot match ``text`` (``folded``: its ``case_blind``)."""
        if not self.needs and not self.needs_any_case:
            return True
        if any(literal in text for literal in self.needs):
            return True
        if self.needs_any_case:
            folded = case_blind(text) if folded is None else folded
            return any(literal in folded for literal in self.needs_any_case)
        return False


# ASCII letters as bytes: in UTF-8 no other character encodes to a byte below 0x80.
_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def script_counts(text: str) -> tuple[int, int]:
    """(CJK characters, Latin letters) outside inline maths."""
    if "$" in text:
        text = INLINE_MATH.sub(" ", text)
    # Latin letters are the ASCII letters: counted by deleting them from the UTF-8 bytes in C
    # rather than by building a list of one-letter matches.
    data = text.encode("utf-8", "surrogatepass")
    latin = len(data) - len(data.translate(None, _ASCII_LETTERS))
    return (0 if text.isascii() else len(CJK_CHAR.findall(text))), latin


def script_lang(text: str, fallback: str = "other") -> str:
    """en or zh by the script of the text (Chinese with Latin abbreviations is zh)."""
    cjk, latin = script_counts(text)
    if cjk and cjk >= 0.3 * (cjk + latin):
        return "zh"
    if latin:
        return "en"
    return fallback
