"""Benchmark the extract stage: section labelling and statistics, in one run, one table.

Section labelling (the shipped labeller on header-less abstracts; scoring and
data loading reused from ``benchmarks/sections.py``): support-weighted and
macro F1 on ``../shared/eval/sections/ei-rct.dev.txt`` and on
``csabstruct.dev.txt`` (labels mapped: method -> methods, result -> results, a
predicted conclusions counts as results, ``other`` unscored), beside the
bag-of-words naive Bayes baseline trained on ``ei-rct.train.txt``.

Statistics: the shared ``/work/shared/eval/stats/dev.en.jsonl`` and the
project's own ``tests/fixtures/statistics/dev.{en,zh}.jsonl``.  Scoring
(shared README, eval/stats): within each passage predicted and gold statistics
match on (measure, value); precision, recall and F1 over matches; then, on
matched pairs, the accuracy of the attached fields (CI, p, unit, op) and the
share of matched estimates whose CI and p are both right.  A naive regex-only
baseline (number after a measure name, standalone p) runs alongside.

Everything needs ``../shared`` beside the repository: without it the script
prints a message and exits 0.

Usage: ``python benchmarks/extract.py [--verbose] [--no-sections]``
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from abstractpipe.extract.statistics import StatisticsExtractor  # noqa: E402

ATTACHED = ("op", "ci_level", "ci_low", "ci_high", "p_op", "p_value", "unit")
NOT_ESTIMATES = {"p", "n", "percent", "mean", "median", "I2"}


class Baseline:
    """Number right after a measure name, plus standalone p-values."""

    def __init__(self) -> None:
        names = r"OR|RR|HR|MD|WMD|SMD|RD|IRR|NNT|AUC|odds ratio|hazard ratio|relative risk|risk ratio"
        self.estimate = re.compile(rf"\b(?P<name>{names})\s*[=:]?\s*(?P<value>-?\d+(?:\.\d+)?)")
        self.p = re.compile(r"\b[Pp]\s*(?P<op>[<>=])\s*(?P<value>0?\.\d+|\d+(?:\.\d+)?)")
        self.names = {
            "odds ratio": "OR",
            "hazard ratio": "HR",
            "relative risk": "RR",
            "risk ratio": "RR",
        }

    def find(self, text: str, lang: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for match in self.estimate.finditer(text):
            name = match.group("name")
            measure = self.names.get(name.lower(), name)
            found.append({"measure": measure, "value": float(match.group("value"))})
        for match in self.p.finditer(text):
            found.append({"measure": "p", "op": match.group("op"), "value": float(match.group("value"))})
        return found


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-9 + 1e-6 * abs(float(b))
    return a == b


def _ci_level(value: Any) -> Any:
    # The shared gold writes 0.95, the schema 95: compare as a fraction.
    if isinstance(value, (int, float)) and value > 1:
        return value / 100.0
    return value


def _field(stat: dict[str, Any], name: str) -> Any:
    value = stat.get(name)
    if name == "ci_level":
        return _ci_level(value)
    if name == "op" and stat.get("measure") not in ("p",):
        return None  # the gold only records op on p-values
    return value


def match_pairs(
    gold: list[dict[str, Any]], predicted: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Greedy one-to-one matching on (measure, value), in text order."""
    used: set[int] = set()
    pairs = []
    for g in gold:
        for index, p in enumerate(predicted):
            if index in used:
                continue
            if p["measure"] == g["measure"] and _same(float(p["value"]), float(g["value"])):
                used.add(index)
                pairs.append((g, p))
                break
    return pairs


def score(extractor: Any, passages: list[dict[str, Any]], verbose: bool = False) -> dict[str, float]:
    tp = n_gold = n_pred = 0
    field_right = field_total = 0
    est_right = est_total = 0
    started = time.perf_counter()
    for passage in passages:
        predicted = extractor.find(passage["text"], passage.get("lang", "en"))
        gold = passage["stats"]
        pairs = match_pairs(gold, predicted)
        tp += len(pairs)
        n_gold += len(gold)
        n_pred += len(predicted)
        for g, p in pairs:
            for name in ATTACHED:
                if name == "op" and g["measure"] != "p":
                    continue
                field_total += 1
                field_right += _same(_field(g, name), _field(p, name))
            if g["measure"] not in NOT_ESTIMATES:
                est_total += 1
                est_right += all(
                    _same(_field(g, n), _field(p, n))
                    for n in ("ci_level", "ci_low", "ci_high", "p_op", "p_value")
                )
        if verbose:
            matched_gold = {id(g) for g, _ in pairs}
            matched_pred = {id(p) for _, p in pairs}
            missed = [g for g in gold if id(g) not in matched_gold]
            extra = [p for p in predicted if id(p) not in matched_pred]
            wrong = [
                (g, {k: p.get(k) for k in ATTACHED})
                for g, p in pairs
                if not all(
                    _same(_field(g, n), _field(p, n)) for n in ATTACHED if n != "op" or g["measure"] == "p"
                )
            ]
            if missed or extra or wrong:
                print(f"--- {passage['id']}: {passage['text'][:300]}")
                for g in missed:
                    print(f"   MISSED {g}")
                for p in extra:
                    print(f"   EXTRA  {p['measure']} {p['value']} {p.get('unit')} {p.get('text')!r}")
                for g, p in wrong:
                    print(f"   FIELDS gold={g} got={p}")
    seconds = time.perf_counter() - started
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "passages": len(passages),
        "gold": n_gold,
        "P": precision,
        "R": recall,
        "F1": f1,
        "fields": field_right / field_total if field_total else float("nan"),
        "est_ci_p": est_right / est_total if est_total else float("nan"),
        "est_n": est_total,
        "per_s": len(passages) / seconds if seconds else float("inf"),
    }


def load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


COLUMNS = ("task", "set", "system", "n", "wF1", "macroF1", "P", "R", "F1", "fields", "est CI+p")
WIDTHS = (10, 14, 12, 6, 6, 7, 6, 6, 6, 6, 10)


def section_rows() -> list[dict[str, Any]]:
    """Rows of the section-labelling part (model and bag-of-words baseline on both dev sets)."""
    from abstractpipe.labeller import default_labeller
    from benchmarks.sections import (
        CSABSTRUCT_LABELS,
        BagOfWordsBaseline,
        csabstruct_scores,
        load_csabstruct,
        load_rct,
        predict,
        rct_scores,
    )

    data = SHARED / "eval" / "sections"
    systems: dict[str, Any] = {
        "labeller": default_labeller(),
        "bow-baseline": BagOfWordsBaseline(load_rct(data / "ei-rct.train.txt")),
    }
    sets = {
        "ei-rct.dev": (data / "ei-rct.dev.txt", load_rct, rct_scores, None),
        # CSAbstruct's 'other' sentences are not scored.
        "csabstruct.dev": (
            data / "csabstruct.dev.txt",
            load_csabstruct,
            csabstruct_scores,
            CSABSTRUCT_LABELS,
        ),
    }
    rows: list[dict[str, Any]] = []
    for set_name, (path, loader, scorer, scored) in sets.items():
        if not path.exists():
            rows.append({"task": "sections", "set": set_name, "system": "(missing)"})
            continue
        abstracts = loader(path)
        for system_name, system in systems.items():
            scores = scorer(predict(system, abstracts)[0], abstracts)
            rows.append(
                {
                    "task": "sections",
                    "set": set_name,
                    "system": system_name,
                    "n": sum(1 for labels, _ in abstracts for g in labels if scored is None or g in scored),
                    "wF1": scores["weighted"],
                    "macroF1": scores["macro"],
                }
            )
    return rows


def statistics_rows(verbose: bool) -> list[dict[str, Any]]:
    """Rows of the statistics part (extractor and regex-only baseline on each dev set)."""
    rules = yaml.safe_load((REPO / "configs" / "statistics.yaml").read_text(encoding="utf-8"))
    systems = {"extractor": StatisticsExtractor(rules), "regex-base": Baseline()}
    sets = {
        "shared dev.en": SHARED / "eval" / "stats" / "dev.en.jsonl",
        "own dev.en": REPO / "tests" / "fixtures" / "statistics" / "dev.en.jsonl",
        "own dev.zh": REPO / "tests" / "fixtures" / "statistics" / "dev.zh.jsonl",
    }
    rows: list[dict[str, Any]] = []
    for set_name, path in sets.items():
        if not path.exists():
            rows.append({"task": "statistics", "set": set_name, "system": "(missing)"})
            continue
        passages = load(path)
        for system_name, system in systems.items():
            if verbose and system_name == "extractor":
                print(f"===== {set_name}")
            result = score(system, passages, verbose=verbose and system_name == "extractor")
            rows.append(
                {
                    "task": "statistics",
                    "set": set_name,
                    "system": system_name,
                    "n": result["gold"],
                    "P": result["P"],
                    "R": result["R"],
                    "F1": result["F1"],
                    "fields": result["fields"],
                    "est CI+p": f"{result['est_ci_p']:.3f}/{result['est_n']}",
                }
            )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = " ".join(
        f"{name:<{width}}" if i < 3 else f"{name:>{width}}"
        for i, (name, width) in enumerate(zip(COLUMNS, WIDTHS, strict=True))
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = []
        for i, (name, width) in enumerate(zip(COLUMNS, WIDTHS, strict=True)):
            value = row.get(name, "")
            text = f"{value:.3f}" if isinstance(value, float) else str(value)
            cells.append(f"{text:<{width}}" if i < 3 else f"{text:>{width}}")
        print(" ".join(cells).rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--verbose", action="store_true", help="print statistics misses, extras, wrong fields"
    )
    parser.add_argument("--no-sections", action="store_true", help="skip the section-labelling part")
    args = parser.parse_args(argv)
    if not SHARED.exists():
        print(f"skip: {SHARED} is absent (shared evaluation data not available)")
        return 0
    rows = [] if args.no_sections else section_rows()
    rows += statistics_rows(args.verbose)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
