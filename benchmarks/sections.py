"""Benchmark the section labeller on header-less abstracts.

    .venv/bin/python benchmarks/sections.py [--data ../shared/eval/sections] [--model PATH]

Scores (per-label, macro and support-weighted F1) on ``ei-rct.dev.txt`` and,
separately, on ``csabstruct.dev.txt`` (computer-science abstracts).  Rows: the
shipped labeller (``default_labeller``: its router gives each abstract to the
clinical or the general model), each of the two models alone, and, in the same
run, a bag-of-words baseline trained on ``ei-rct.train.txt``: multinomial naive
Bayes over the sentence's own words, no position, no context, no sequence
decoding; and the same baseline trained on both training sets (``bow-both``, the general
model's data).  ``--model PATH`` scores that one model file instead of the shipped
labeller.  Also reports model size, load time and sentences per second.

CSAbstruct label mapping: background, objective, method -> methods, result ->
results.  CSAbstruct has no conclusions label: its ``result`` covers findings
and take-aways alike, so there a predicted ``conclusions`` counts as
``results``, and scores are over four labels.  Its ``other`` sentences
(copyright lines, URLs, funding notes, PDF debris) match no section: they stay
in the input, since the labeller sees whole abstracts, but are not scored.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections import Counter
from pathlib import Path

from abstractpipe.labeller import (
    GENERAL_MODEL,
    LABELS,
    ROUTER_MODEL,
    RoutedLabeller,
    SectionLabeller,
    default_labeller,
    read_labelled_abstracts,
    score_labels,
    tokenize,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "eval" / "sections"
PACKAGE = REPO / "src" / "abstractpipe"
DEFAULT_MODEL = PACKAGE / "data" / "labeller" / "rct.json.gz"
SHIPPED_FILES = (DEFAULT_MODEL, PACKAGE / GENERAL_MODEL, PACKAGE / ROUTER_MODEL)
CSABSTRUCT_LABELS = {
    "background": "background",
    "objective": "objective",
    "method": "methods",
    "result": "results",
}
CSABSTRUCT_SCORED = ("background", "objective", "methods", "results")

Abstract = tuple[list[str], list[str]]  # (gold labels, sentences)


class BagOfWordsBaseline:
    """Multinomial naive Bayes over a sentence's own word unigrams and bigrams (Laplace smoothing)."""

    def __init__(self, training: list[Abstract]) -> None:
        self.word_counts: dict[str, Counter[str]] = {label: Counter() for label in LABELS}
        label_counts: Counter[str] = Counter()
        for labels, sentences in training:
            for label, sentence in zip(labels, sentences, strict=True):
                self.word_counts[label].update(self._terms(sentence))
                label_counts[label] += 1
        total = sum(label_counts.values())
        self.prior = {label: math.log(label_counts[label] / total) for label in LABELS}
        vocabulary = set().union(*(counts.keys() for counts in self.word_counts.values()))
        self.denominator = {
            label: math.log(sum(self.word_counts[label].values()) + len(vocabulary)) for label in LABELS
        }

    @staticmethod
    def _terms(sentence: str) -> list[str]:
        tokens = tokenize(sentence)
        return tokens + [f"{a}_{b}" for a, b in itertools.pairwise(tokens)]

    def label(self, sentences: list[str]) -> list[str]:
        predictions: list[str] = []
        for sentence in sentences:
            terms = self._terms(sentence)
            scores = {
                label: self.prior[label]
                + sum(math.log(self.word_counts[label][term] + 1) for term in terms)
                - len(terms) * self.denominator[label]
                for label in LABELS
            }
            predictions.append(max(LABELS, key=lambda label, scores=scores: scores[label]))
        return predictions


def load_rct(path: Path) -> list[Abstract]:
    return [
        ([label.lower() for label in labels], sentences)
        for _, labels, sentences in read_labelled_abstracts(path)
    ]


def load_csabstruct(path: Path) -> list[Abstract]:
    return [(labels, sentences) for _, labels, sentences in read_labelled_abstracts(path)]


def predict(
    model: SectionLabeller | RoutedLabeller | BagOfWordsBaseline, abstracts: list[Abstract]
) -> tuple[list[str], float]:
    """Predicted labels of all sentences, and the seconds it took."""
    started = time.perf_counter()
    predicted: list[str] = []
    for _, sentences in abstracts:
        if isinstance(model, BagOfWordsBaseline):
            predicted.extend(model.label(sentences))
        else:
            predicted.extend(label for label, _ in model.label(sentences))
    return predicted, time.perf_counter() - started


def rct_scores(predicted: list[str], abstracts: list[Abstract]) -> dict[str, float]:
    gold = [label for labels, _ in abstracts for label in labels]
    return score_labels(gold, predicted, LABELS)


def csabstruct_scores(predicted: list[str], abstracts: list[Abstract]) -> dict[str, float]:
    gold = [label for labels, _ in abstracts for label in labels]
    pairs = [
        (CSABSTRUCT_LABELS[g], "results" if p == "conclusions" else p)
        for g, p in zip(gold, predicted, strict=True)
        if g in CSABSTRUCT_LABELS
    ]
    return score_labels([g for g, _ in pairs], [p for _, p in pairs], CSABSTRUCT_SCORED)


def print_table(title: str, labels: tuple[str, ...], rows: dict[str, dict[str, float]]) -> None:
    columns = ["weighted", "macro", *labels]
    print(f"\n{title}")
    print(f"{'':12}" + "".join(f"{column[:11]:>12}" for column in columns))
    for name, scores in rows.items():
        print(f"{name:12}" + "".join(f"{scores[column]:12.4f}" for column in columns))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--model", type=Path, default=None, help="one model file instead of the shipped labeller"
    )
    args = parser.parse_args(argv)
    if not (args.data / "ei-rct.dev.txt").exists():
        print(f"skipped: ../shared absent (no {args.data / 'ei-rct.dev.txt'})")
        return 0

    started = time.perf_counter()
    systems: dict[str, SectionLabeller | RoutedLabeller | BagOfWordsBaseline]
    if args.model is not None:
        systems = {"model": SectionLabeller.load(args.model)}
        files: tuple[Path, ...] = (args.model,)
    else:
        shipped = default_labeller()
        systems = {"shipped": shipped, "clinical": shipped.clinical, "general": shipped.general}
        files = SHIPPED_FILES
    load_seconds = time.perf_counter() - started
    rct_training = load_rct(args.data / "ei-rct.train.txt")
    systems["bow-baseline"] = BagOfWordsBaseline(rct_training)
    cs_training = args.data / "csabstruct.train.txt"
    if cs_training.exists():  # the baseline given the general model's training data too
        mapped = [
            (
                [CSABSTRUCT_LABELS[label] for label in labels if label in CSABSTRUCT_LABELS],
                [
                    sentence
                    for label, sentence in zip(labels, sentences, strict=True)
                    if label in CSABSTRUCT_LABELS
                ],
            )
            for labels, sentences in load_csabstruct(cs_training)
        ]
        systems["bow-both"] = BagOfWordsBaseline(rct_training + mapped)
    size = sum(path.stat().st_size for path in files)
    print(
        f"model {', '.join(path.name for path in files)}: {size / 1e6:.2f} MB, loads in {load_seconds:.2f} s"
    )

    rct = load_rct(args.data / "ei-rct.dev.txt")
    first = next(iter(systems.values()))
    first_predicted, first_seconds = predict(first, rct)
    print(
        f"speed: {len(first_predicted) / first_seconds:.0f} sentences/s ({len(first_predicted)} sentences, one core)"
    )
    print_table(
        f"ei-rct.dev ({len(rct)} abstracts, {len(first_predicted)} sentences)",
        LABELS,
        {name: rct_scores(predict(system, rct)[0], rct) for name, system in systems.items()},
    )

    cs_path = args.data / "csabstruct.dev.txt"
    if cs_path.exists():
        cs = load_csabstruct(cs_path)
        scored = sum(1 for labels, _ in cs for label in labels if label in CSABSTRUCT_LABELS)
        print_table(
            f"csabstruct.dev, computer science ({len(cs)} abstracts, {scored} scored sentences; "
            "method->methods, result->results, conclusions predicted count as results, 'other' unscored)",
            CSABSTRUCT_SCORED,
            {name: csabstruct_scores(predict(system, cs)[0], cs) for name, system in systems.items()},
        )
    if isinstance(first, RoutedLabeller):
        for name, abstracts in (("ei-rct.dev", rct), ("csabstruct.dev", cs if cs_path.exists() else [])):
            clinical = sum(first.router.is_clinical(sentences) for _, sentences in abstracts)
            print(f"router: {clinical} of {len(abstracts)} {name} abstracts to the clinical model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
