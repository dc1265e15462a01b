"""The labeller's fast paths against the general ones they replace."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from abstractpipe.labeller import LABELS, SectionLabeller, abstract_features
from tests.conftest import REPO, random_texts

MODEL = REPO / "src" / "abstractpipe" / "data" / "labeller" / "rct.json.gz"

# Words and bigrams the model knows, repeated tokens, numbers, cue words, punctuation tokens,
# apostrophes, an underscore (never part of a token), "<none>"-like and odd Unicode text.
PIECES = [
    " the",
    " The",
    " patients",
    " were",
    " randomised",
    " randomly assigned to",
    " we aimed to assess",
    " in conclusion,",
    " these findings suggest",
    " results",
    " 95% CI 1.1 to 2.0",
    " (p < 0.05)",
    " OR 0.6",
    " 12",
    " 3,5",
    " 0·4",
    " %",
    " ±",
    " ≤",
    " [",
    ")",
    ";",
    ":",
    "/",
    " patient's",
    " don’t",
    " snake_case",
    " <none>",
    " <s>",
    " İs",
    " ſtudy",
    " naïve",
    " 研究",
    "  ",
    ".",
    "",
]


@pytest.fixture(scope="module")
def labeller() -> SectionLabeller:
    return SectionLabeller.load()


@pytest.fixture(scope="module")
def weights() -> dict[str, list[float]]:
    data = json.loads(gzip.decompress(Path(MODEL).read_bytes()))
    scale = float(data["scale"])
    return {
        name: [w / scale for w in row] for name, row in zip(data["features"], data["weights"], strict=True)
    }


def scores_by_name(sentences: list[str], weights: dict[str, list[float]]) -> list[list[float]]:
    """The general path: each named feature of ``abstract_features``, in name order, one by one."""
    expected = []
    for features in abstract_features(sentences):
        row = [0.0] * len(LABELS)
        for name in sorted(features):
            if name in weights:
                for k, weight in enumerate(weights[name]):
                    row[k] += features[name] * weight
        expected.append(row)
    return expected


def test_emission_scores_by_token_are_those_by_name(
    labeller: SectionLabeller, weights: dict[str, list[float]]
) -> None:
    texts = random_texts(PIECES, 1200, seed=11, fewest=0, most=25)
    rng = random.Random(12)
    checked = 0
    while texts:
        size = rng.randint(1, 9)
        sentences, texts = texts[:size], texts[size:]
        assert labeller.emission_scores(sentences) == scores_by_name(sentences, weights), sentences
        checked += 1
    assert checked > 150
    assert labeller.emission_scores([]) == []
