"""Train the section labeller: two linear-chain CRFs and the router between them.

    .venv/bin/python scripts/train_labeller.py --data ../shared/eval/sections \\
        --out-dir src/abstractpipe/data/labeller [--only clinical,general,router]

- ``rct.json.gz``, the clinical model: trained on ``ei-rct.train.txt``;
- ``general.json.gz``: trained on ``ei-rct.train.txt`` and ``csabstruct.train.txt``
  (labels mapped: method -> methods, result -> results; its ``other`` sentences,
  copyright lines and URLs, left out);
- ``router.json.gz``: naive Bayes log ratios of words, clinical (ei-rct) against other
  (CSAbstruct) abstracts, by document frequency with add-one smoothing.

Prints dev scores (``ei-rct.dev.txt``, ``csabstruct.dev.txt``) measured with the runtime
labeller loading the written files.  Training uses numpy (full-batch L-BFGS on the
L2-regularised negative log-likelihood, with forward-backward vectorised over padded
abstracts); it is deterministic: no random initialisation, features sorted, files written
with a fixed gzip mtime, so retraining writes the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from abstractpipe.labeller import (
    LABELS,
    MODEL_FORMAT,
    ROUTER_FORMAT,
    DomainRouter,
    RoutedLabeller,
    SectionLabeller,
    abstract_features,
    read_labelled_abstracts,
    score_labels,
    tokenize,
)

WEIGHT_SCALE = 1000  # weights are stored as integers in thousandths
# CSAbstruct's labels in ours; its "other" sentences belong to no section.
CSABSTRUCT_LABELS = {
    "background": "background",
    "objective": "objective",
    "method": "methods",
    "result": "results",
}
ARTEFACTS = {"clinical": "rct.json.gz", "general": "general.json.gz", "router": "router.json.gz"}


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


def load_csabstruct(path: Path) -> list[tuple[list[str], list[str]]]:
    """CSAbstruct abstracts in our labels, without their "other" sentences (two sentences at least)."""
    abstracts = []
    for _, labels, sentences in read_labelled_abstracts(path):
        kept = [
            (CSABSTRUCT_LABELS[label], s)
            for label, s in zip(labels, sentences, strict=True)
            if label in CSABSTRUCT_LABELS
        ]
        if len(kept) >= 2:
            abstracts.append(([label for label, _ in kept], [s for _, s in kept]))
    return abstracts


def train_router(clinical: list[list[str]], other: list[list[str]], min_count: int) -> dict[str, object]:
    """Naive Bayes log ratios over document frequencies (each abstract counts a word once)."""

    def frequencies(abstracts: list[list[str]]) -> Counter[str]:
        counts: Counter[str] = Counter()
        for sentences in abstracts:
            counts.update({token for sentence in sentences for token in tokenize(sentence)})
        return counts

    inside, outside = frequencies(clinical), frequencies(other)
    vocabulary = sorted(w for w in inside.keys() | outside.keys() if inside[w] + outside[w] >= min_count)
    inside_total = sum(inside[w] for w in vocabulary) + len(vocabulary)
    outside_total = sum(outside[w] for w in vocabulary) + len(vocabulary)
    return {
        "format": ROUTER_FORMAT,
        "prior": round(math.log(len(clinical) / len(other)), 6),
        "words": {
            w: round(math.log((inside[w] + 1) / inside_total) - math.log((outside[w] + 1) / outside_total), 4)
            for w in vocabulary
        },
    }


def write_model(model: dict[str, object], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(model, separators=(",", ":"), ensure_ascii=False)
    out.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


def evaluate(
    labeller: SectionLabeller | RoutedLabeller,
    abstracts: list[tuple[list[str], list[str]]],
    labels: tuple[str, ...],
) -> dict[str, float]:
    gold: list[str] = []
    predicted: list[str] = []
    for gold_labels, sentences in abstracts:
        gold.extend(gold_labels)
        predicted.extend(label for label, _ in labeller.label(sentences))
    if "conclusions" not in labels:  # CSAbstruct: its results hold the conclusions too
        predicted = ["results" if label == "conclusions" else label for label in predicted]
    return score_labels(gold, predicted, labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/eval/sections"))
    parser.add_argument("--out-dir", type=Path, default=Path("src/abstractpipe/data/labeller"))
    parser.add_argument("--only", default="clinical,general,router", help="which of clinical,general,router")
    parser.add_argument("--l2", type=float, default=3.0, help="L2 penalty on the feature weights")
    parser.add_argument("--min-count", type=int, default=3, help="drop features seen in fewer sentences")
    parser.add_argument("--router-min-count", type=int, default=3, help="router words in fewer abstracts go")
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args(argv)
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := sorted(set(wanted) - set(ARTEFACTS)):
        parser.error(f"--only: unknown {', '.join(unknown)} (known: {', '.join(ARTEFACTS)})")

    clinical = load(args.data / "ei-rct.train.txt")
    computing = load_csabstruct(args.data / "csabstruct.train.txt")
    for name in wanted:
        started = time.perf_counter()
        out = args.out_dir / ARTEFACTS[name]
        if name == "router":
            artefact = train_router(
                [s for _, s in clinical], [s for _, s in computing], args.router_min_count
            )
        else:
            training = clinical if name == "clinical" else clinical + computing
            artefact = train(training, args.l2, args.min_count, args.iterations)
        write_model(artefact, out)
        print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - started:.0f} s")

    paths = {name: args.out_dir / file for name, file in ARTEFACTS.items()}
    if not all(path.exists() for path in paths.values()):
        return 0
    models = {name: SectionLabeller.load(paths[name]) for name in ("clinical", "general")}
    router = DomainRouter.from_bytes(paths["router"].read_bytes())
    labellers = {**models, "routed": RoutedLabeller(models["clinical"], lambda: models["general"], router)}
    dev_sets = {
        "ei-rct.dev": (args.data / "ei-rct.dev.txt", load, LABELS),
        "csabstruct.dev": (
            args.data / "csabstruct.dev.txt",
            load_csabstruct,
            tuple(CSABSTRUCT_LABELS.values()),
        ),
    }
    for set_name, (path, reader, labels) in dev_sets.items():
        if not path.exists():
            continue
        abstracts = reader(path)
        clinical_count = sum(router.is_clinical(sentences) for _, sentences in abstracts)
        print(f"{set_name}: the router calls {clinical_count} of {len(abstracts)} abstracts clinical")
        for name, labeller in labellers.items():
            scores = evaluate(labeller, abstracts, labels)
            print(f"  {name:8} " + "  ".join(f"{key} {value:.4f}" for key, value in scores.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
