from __future__ import annotations

import random
import re

import pytest

from abstractpipe.patterns import grouped_alternation


def _branches(words: list[str]) -> list[tuple[str, str]]:
    return [(word, r"\s*".join(re.escape(part) for part in word.split())) for word in words]


@pytest.mark.parametrize("ignore_case", [True, False])
def test_grouped_alternation_matches_like_the_flat_one(ignore_case: bool) -> None:
    rng = random.Random(6)
    words = [
        "methods",
        "Methods",
        "materials and methods",
        "method",
        "M",
        "b",
        "background",
        "结果",
        "结论",
        "(a)",
    ]
    letters = "mMbBaeth ds结果论(a)\n"
    for _ in range(200):
        chosen = rng.sample(words, rng.randint(1, len(words)))
        branches = _branches(chosen)
        flat = "|".join(regex for _, regex in branches)
        grouped = grouped_alternation(branches, ignore_case=ignore_case)
        wrap = "(?i:{})" if ignore_case else "(?:{})"
        flat_re = re.compile(rf"(?<![A-Za-z])(?P<label>{wrap.format(flat)})(?P<tail>\s*:|\s+(?=[A-Z])|)")
        grouped_re = re.compile(
            rf"(?<![A-Za-z])(?P<label>{wrap.format(grouped)})(?P<tail>\s*:|\s+(?=[A-Z])|)"
        )
        for _ in range(20):
            text = "".join(rng.choice([*chosen, *letters]) for _ in range(12))
            expected = [(m.span(), m.groupdict()) for m in flat_re.finditer(text)]
            assert [(m.span(), m.groupdict()) for m in grouped_re.finditer(text)] == expected


def test_grouped_alternation_groups_by_first_character() -> None:
    grouped = grouped_alternation(_branches(["methods", "Materials", "background"]), ignore_case=True)
    assert grouped == "m(?:ethods|aterials)|b(?:ackground)"
    assert (
        grouped_alternation(_branches(["methods", "Methods"]), ignore_case=False) == "m(?:ethods)|M(?:ethods)"
    )


def test_grouped_alternation_falls_back_to_the_flat_form() -> None:
    assert grouped_alternation(_branches(["", "a"]), ignore_case=True) == "|a"
    assert grouped_alternation([(" a", r"\s*a")], ignore_case=True) == r"\s*a"


def test_ascii_lowered_words() -> None:
    from abstractpipe.patterns import ascii_lowered_words

    assert ascii_lowered_words(["Methods", "大学", "Key Words"]) == ["methods", "key words"]
    # "ſ" and the Kelvin sign match ASCII letters under (?i), which lower() does not show.
    assert ascii_lowered_words(["ſchool"]) is None and ascii_lowered_words(["\u212aeywords"]) is None
