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
from collections.abc import Sequence


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
