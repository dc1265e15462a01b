"""Train the section labeller (a linear-chain CRF) on PubMed-RCT-format abstracts.

    .venv/bin/python scripts/train_labeller.py --data ../shared/eval/sections \\
        --out src/abstractpipe/data/labeller/rct.json.gz

Trains on ``ei-rct.train.txt`` and prints dev scores (``ei-rct.dev.txt``)
measured with the runtime labeller loading the written file.  Training uses
numpy (full-batch L-BFGS on the L2-regularised negative log-likelihood, with
forward-backward vectorised over padded abstracts); it is deterministic: no
random initialisation, features sorted, file written with a fixed gzip mtime.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from abstractpipe.labeller import (
    LABELS,
    MODEL_FORMAT,
    SectionLabeller,
    abstract_features,
    read_labelled_abstracts,
    score_labels,
)

WEIGHT_SCALE = 1000  # weights are stored as integers in thousandths


def canonical(label: str) -> str:
    key = label.strip().lower()
    if key not in LABELS:
        raise ValueError(f"unknown label {label!r}")
    return key


class Corpus:
    """Sparse feature rows of all training sentences, plus the padded sequence layout."""

    def __init__(self, abstracts: list[tuple[list[str], list[str]]], min_count: int) -> None:
        feature_rows = [abstract_features(sentences) for _, sentences in abstracts]
        counts: Counter[str] = Counter()
        for rows in feature_rows:
            for row in rows:
                counts.update(row.keys())
        self.names = sorted(name for name, count in counts.items() if count >= min_count)
        index = {name: i for i, name in enumerate(self.names)}
        columns: list[int] = []
        values: list[float] = []
        row_of: list[int] = []
        gold: list[int] = []
        lengths: list[int] = []
        label_index = {label: k for k, label in enumerate(LABELS)}
        row_number = 0
        for (labels, _), rows in zip(abstracts, feature_rows, strict=True):
            lengths.append(len(rows))
            for label, row in zip(labels, rows, strict=True):
                for name in sorted(row):
                    column = index.get(name)
                    if column is not None:
                        columns.append(column)
                        values.append(row[name])
                        row_of.append(row_number)
                gold.append(label_index[label])
                row_number += 1
        self.columns = np.asarray(columns, dtype=np.int64)
        self.values = np.asarray(values, dtype=np.float64)
        self.rows = np.asarray(row_of, dtype=np.int64)
        self.gold = np.asarray(gold, dtype=np.int64)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.sentence_count = row_number
        # Abstracts sorted by length and cut into buckets, each padded to its own longest
        # abstract: padding everything to the longest abstract (139 sentences) costs 10x.
        starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        order = np.argsort(self.lengths, kind="stable")
        self.buckets = [Bucket(chunk, starts, self.lengths, self.gold) for chunk in np.array_split(order, 16)]


class Bucket:
    """Abstracts of similar length, laid out as a padded (abstract, position) grid."""

    def __init__(
        self, members: np.ndarray, starts: np.ndarray, lengths: np.ndarray, gold: np.ndarray
    ) -> None:
        self.lengths = lengths[members]
        self.max_length = int(self.lengths.max())
        self.mask = np.arange(self.max_length)[None, :] < self.lengths[:, None]
        self.local = np.repeat(np.arange(len(members)), self.lengths)
        self.position = np.concatenate([np.arange(length) for length in self.lengths])
        self.rows = np.repeat(starts[members], self.lengths) + self.position
        self.gold = np.zeros((len(members), self.max_length), dtype=np.int64)
        self.gold[self.local, self.position] = gold[self.rows]


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    peak = values.max(axis=axis, keepdims=True)
    return np.squeeze(peak, axis=axis) + np.log(np.exp(values - peak).sum(axis=axis))


def crf_objective(corpus: Corpus, l2: float) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    features = len(corpus.names)
    width = len(LABELS)

    # Weights are laid out label-major (one contiguous row of feature weights per label):
    # gathering from 1-D rows is many times faster than from a (features, labels) array.
    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        weights = theta[: features * width].reshape(width, features)
        rest = theta[features * width :]
        return (
            weights,
            rest[: width * width].reshape(width, width),
            rest[width * width : width * width + width],
            rest[width * width + width :],
        )

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weights, transitions, start, end = unpack(theta)
        emission = np.empty((corpus.sentence_count, width))
        for k in range(width):
            emission[:, k] = np.bincount(
                corpus.rows,
                weights=weights[k][corpus.columns] * corpus.values,
                minlength=corpus.sentence_count,
            )
        log_likelihood = 0.0
        emission_gradient = np.empty_like(emission)
        transition_gradient = np.zeros((width, width))
        start_gradient = np.zeros(width)
        end_gradient = np.zeros(width)
        for bucket in corpus.buckets:
            value, node, pair, first, final = _bucket_terms(bucket, emission, transitions, start, end)
            log_likelihood += value
            emission_gradient[bucket.rows] = node[bucket.local, bucket.position]
            transition_gradient += pair
            start_gradient += first
            end_gradient += final
        emission_gradient[np.arange(corpus.sentence_count), corpus.gold] -= 1.0
        loss = -log_likelihood + 0.5 * l2 * float((weights**2).sum())
        weight_gradient = l2 * weights
        for k in range(width):
            column = np.ascontiguousarray(emission_gradient[:, k])
            weight_gradient[k] += np.bincount(
                corpus.columns, weights=column[corpus.rows] * corpus.values, minlength=features
            )
        gradient = np.concatenate(
            [weight_gradient.ravel(), transition_gradient.ravel(), start_gradient, end_gradient]
        )
        return loss, gradient

    return objective


def _bucket_terms(
    bucket: Bucket, emission: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Log-likelihood of the gold paths, node marginals, and expected-minus-gold counts of one bucket."""
    count = len(bucket.lengths)
    width = len(start)
    mask = bucket.mask
    padded = np.zeros((count, bucket.max_length, width))
    padded[bucket.local, bucket.position] = emission[bucket.rows]

    alpha = np.empty_like(padded)
    alpha[:, 0] = start + padded[:, 0]
    for t in range(1, bucket.max_length):
        step = _logsumexp(alpha[:, t - 1, :, None] + transitions[None], axis=1) + padded[:, t]
        alpha[:, t] = np.where(mask[:, t, None], step, alpha[:, t - 1])
    log_partition = _logsumexp(alpha[:, -1] + end, axis=1)

    beta = np.empty_like(padded)
    beta[:, -1] = end
    for t in range(bucket.max_length - 2, -1, -1):
        step = _logsumexp(transitions[None] + (padded[:, t + 1] + beta[:, t + 1])[:, None, :], axis=2)
        beta[:, t] = np.where(mask[:, t + 1, None], step, beta[:, t + 1])

    node = np.exp(alpha + beta - log_partition[:, None, None]) * mask[:, :, None]
    joint = (
        alpha[:, :-1, :, None]
        + transitions[None, None]
        + (padded[:, 1:] + beta[:, 1:])[:, :, None, :]
        - log_partition[:, None, None, None]
    )
    pair = (np.exp(joint) * mask[:, 1:, None, None]).sum(axis=(0, 1))

    gold = bucket.gold
    last = bucket.lengths - 1
    members = np.arange(count)
    previous = gold[:, :-1][mask[:, 1:]]
    following = gold[:, 1:][mask[:, 1:]]
    gold_score = padded[bucket.local, bucket.position, gold[bucket.local, bucket.position]].sum()
    gold_score += start[gold[:, 0]].sum() + end[gold[members, last]].sum()
    gold_score += transitions[previous, following].sum()
    gold_pairs = np.zeros((width, width))
    np.add.at(gold_pairs, (previous, following), 1.0)
    first = node[:, 0].sum(axis=0) - np.bincount(gold[:, 0], minlength=width)
    final = node[members, last].sum(axis=0) - np.bincount(gold[members, last], minlength=width)
    return float(gold_score - log_partition.sum()), node, pair - gold_pairs, first, final


def lbfgs(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta: np.ndarray,
    iterations: int,
    history: int = 10,
    tolerance: float = 1e-6,
) -> np.ndarray:
    """Minimise with limited-memory BFGS and a backtracking (Armijo) line search."""
    loss, gradient = objective(theta)
    steps: list[np.ndarray] = []
    changes: list[np.ndarray] = []
    for iteration in range(iterations):
        direction = gradient.copy()
        coefficients: list[tuple[float, float]] = []
        for step, change in zip(reversed(steps), reversed(changes), strict=True):
            rho = 1.0 / float(change @ step)
            a = rho * float(step @ direction)
            direction -= a * change
            coefficients.append((rho, a))
        if steps:
            direction *= float(steps[-1] @ changes[-1]) / float(changes[-1] @ changes[-1])
        else:
            direction /= max(float(np.linalg.norm(gradient)), 1e-12)
        for (step, change), (rho, a) in zip(
            zip(steps, changes, strict=True), reversed(coefficients), strict=True
        ):
            b = rho * float(change @ direction)
            direction += step * (a - b)
        direction = -direction
        slope = float(gradient @ direction)
        if slope >= 0:  # not a descent direction: restart from steepest descent
            steps.clear()
            changes.clear()
            direction = -gradient / max(float(np.linalg.norm(gradient)), 1e-12)
            slope = float(gradient @ direction)
        rate = 1.0
        while True:
            candidate = theta + rate * direction
            new_loss, new_gradient = objective(candidate)
            if new_loss <= loss + 1e-4 * rate * slope or rate < 1e-10:
                break
            rate *= 0.5
        step = candidate - theta
        change = new_gradient - gradient
        if float(step @ change) > 1e-10:
            steps.append(step)
            changes.append(change)
            if len(steps) > history:
                steps.pop(0)
                changes.pop(0)
        improvement = loss - new_loss
        theta, loss, gradient = candidate, new_loss, new_gradient
        if iteration % 20 == 0:
            print(f"  iteration {iteration:4d}  loss {loss:.3f}", file=sys.stderr)
        if 0 <= improvement < tolerance * max(1.0, abs(loss)):
            break
    return theta


def train(
    abstracts: list[tuple[list[str], list[str]]], l2: float, min_count: int, iterations: int
) -> dict[str, object]:
    corpus = Corpus(abstracts, min_count)
    width = len(LABELS)
    print(f"{corpus.sentence_count} sentences, {len(corpus.names)} features", file=sys.stderr)
    theta = np.zeros(len(corpus.names) * width + width * width + 2 * width)
    theta = lbfgs(crf_objective(corpus, l2), theta, iterations)
    weights = theta[: len(corpus.names) * width].reshape(width, len(corpus.names)).T
    rest = theta[len(corpus.names) * width :]
    quantised = np.rint(weights * WEIGHT_SCALE).astype(np.int64)
    keep = np.abs(quantised).max(axis=1) > 0  # features the model learned nothing for cost space only
    return {
        "format": MODEL_FORMAT,
        "labels": list(LABELS),
        "scale": WEIGHT_SCALE,
        "features": [name for name, kept in zip(corpus.names, keep, strict=True) if kept],
        "weights": quantised[keep].tolist(),
        "transitions": np.round(rest[: width * width].reshape(width, width), 4).tolist(),
        "start": np.round(rest[width * width : width * width + width], 4).tolist(),
        "end": np.round(rest[width * width + width :], 4).tolist(),
    }


def load(path: Path) -> list[tuple[list[str], list[str]]]:
    return [
        ([canonical(label) for label in labels], sentences)
        for _, labels, sentences in read_labelled_abstracts(path)
    ]


def write_model(model: dict[str, object], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(model, separators=(",", ":"), ensure_ascii=False)
    out.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


def evaluate(labeller: SectionLabeller, abstracts: list[tuple[list[str], list[str]]]) -> dict[str, float]:
    gold: list[str] = []
    predicted: list[str] = []
    for labels, sentences in abstracts:
        gold.extend(labels)
        predicted.extend(label for label, _ in labeller.label(sentences))
    return score_labels(gold, predicted, LABELS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval/sections"))
    parser.add_argument("--out", type=Path, default=Path("src/abstractpipe/data/labeller/rct.json.gz"))
    parser.add_argument("--l2", type=float, default=3.0, help="L2 penalty on the feature weights")
    parser.add_argument("--min-count", type=int, default=3, help="drop features seen in fewer sentences")
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    training = load(args.data / "ei-rct.train.txt")
    model = train(training, args.l2, args.min_count, args.iterations)
    write_model(model, args.out)
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, {len(model['features'])} features) "
        f"in {time.perf_counter() - started:.0f} s"
    )
    dev_path = args.data / "ei-rct.dev.txt"
    if dev_path.exists():
        scores = evaluate(SectionLabeller.load(args.out), load(dev_path))
        print("dev " + "  ".join(f"{name} {value:.4f}" for name, value in scores.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
