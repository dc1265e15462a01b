"""EN–ZH sentence-alignment benchmark: the project aligner against a Gale–Church baseline.

Data: ``benchmarks/data/align_dev.jsonl``, hand-written bilingual abstracts with gold sentence
links (one JSON object a line: ``id``, ``kind``, ``en``, ``zh``, ``links``; a link is
``[[en indices], [zh indices]]``, every sentence in exactly one link, links in order).

Scoring follows vecalign's ``score.py`` (also used by bertalign), micro-averaged over documents:

* strict: a predicted link is a true positive only if the identical link is in the gold set;
* lax: a predicted link also counts if it shares at least one sentence with one gold link on
  BOTH sides (so a predicted null link is lax-correct only when it is exact);
* recall is computed the same way with gold and prediction swapped.

Two conventions for null links (1-0 / 0-1) are reported: ``incl. null`` keeps them as links like
any other (vecalign's default), ``excl. null`` drops them from gold and prediction first (the
usual way of reporting alignment quality on the translated content only).

Gale–Church baseline: length-based dynamic programming over characters (English non-space
characters vs Chinese non-space characters: Han, digits, Latin letters, punctuation), with the
standard priors of Gale & Church (1993) — 1-1 0.89, 1-0/0-1 0.0099, 2-1/1-2 0.089, 2-2 0.011.
The ratio ``c`` (Chinese characters per English character) and the variance ``s2`` are
ESTIMATED FROM THE DEV SET's gold 1-1 links (``estimate_length_model``), which favours the
baseline; ``--gc-c`` / ``--gc-s2`` override them.

Throughput: "sentence pairs" = (English sentences + Chinese sentences) / 2 per document; only
the aligner call is timed, the process is pinned to one CPU where the OS allows, the whole dev
set is aligned ``--repeat`` times and the median run is reported, with the project/baseline
ratio measured in the same run. Stress test: dev abstracts concatenated into one synthetic
document of 250 / 500 / 1000 English sentences (Chinese side cut at the matching gold link).

Usage: ``python benchmarks/align.py [--json out.json] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
DEV_PATH = REPO / "benchmarks" / "data" / "align_dev.jsonl"
ALIGN_CONFIG_PATH = REPO / "configs" / "align.yaml"

Link = tuple[tuple[int, ...], tuple[int, ...]]
Aligner = Callable[[list[str], list[str]], list[Link]]

# Gale & Church (1993) priors per link type (en count, zh count).
GALE_CHURCH_PRIORS: dict[tuple[int, int], float] = {
    (1, 1): 0.89,
    (1, 0): 0.0099,
    (0, 1): 0.0099,
    (2, 1): 0.089,
    (1, 2): 0.089,
    (2, 2): 0.011,
}
# Used when no dev data is at hand: roughly 0.3 Chinese characters per English non-space
# character in medical abstracts, and Gale–Church's own variance scaled to that ratio.
DEFAULT_ZH_PER_EN_CHAR = 0.30
DEFAULT_VARIANCE = 1.0


@dataclass(frozen=True)
class AlignmentCase:
    id: str
    kind: str
    en: list[str]
    zh: list[str]
    links: list[Link]


@dataclass
class Counts:
    """True/false positive and negative counts for strict and lax matching."""

    tp_strict: int = 0
    fp_strict: int = 0
    fn_strict: int = 0
    tp_lax: int = 0
    fp_lax: int = 0
    fn_lax: int = 0

    def add(self, other: Counts) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def scores(self) -> dict[str, float]:
        return {
            "strict_p": _ratio(self.tp_strict, self.tp_strict + self.fp_strict),
            "strict_r": _ratio(self.tp_strict, self.tp_strict + self.fn_strict),
            "strict_f1": _f1(self.tp_strict, self.fp_strict, self.fn_strict),
            "lax_p": _ratio(self.tp_lax, self.tp_lax + self.fp_lax),
            "lax_r": _ratio(self.tp_lax, self.tp_lax + self.fn_lax),
            "lax_f1": _f1(self.tp_lax, self.fp_lax, self.fn_lax),
        }


# ---------------------------------------------------------------------------- data


def load_cases(path: Path = DEV_PATH) -> list[AlignmentCase]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        links = [(tuple(en), tuple(zh)) for en, zh in row["links"]]
        cases.append(AlignmentCase(row["id"], row["kind"], row["en"], row["zh"], links))
    return cases


def link_type(link: Link) -> str:
    return f"{len(link[0])}-{len(link[1])}"


def check_case(case: AlignmentCase) -> list[str]:
    """Problems with one dev case: every sentence in exactly one link, links in order."""
    problems: list[str] = []
    if case.kind not in ("structured", "unstructured"):
        problems.append(f"{case.id}: unknown kind {case.kind!r}")
    if any(not s.strip() for s in case.en + case.zh):
        problems.append(f"{case.id}: empty sentence")
    for side, sentences, index in (("en", case.en, 0), ("zh", case.zh, 1)):
        flat = [i for link in case.links for i in link[index]]
        if flat != list(range(len(sentences))):
            problems.append(f"{case.id}: {side} links do not cover 0..{len(sentences) - 1} in order")
    if any(not link[0] and not link[1] for link in case.links):
        problems.append(f"{case.id}: empty link")
    return problems


# ---------------------------------------------------------------------------- scoring


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _f1(tp: int, fp: int, fn: int) -> float:
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _normalise(links: Iterable[Sequence[Sequence[int]]], drop_null: bool) -> set[Link]:
    result = set()
    for en, zh in links:
        link = (tuple(sorted(en)), tuple(sorted(zh)))
        if not link[0] and not link[1]:
            continue
        if drop_null and (not link[0] or not link[1]):
            continue
        result.add(link)
    return result


def _matches(reference: set[Link], candidates: set[Link]) -> tuple[int, int, int]:
    """(exact matches, lax-only matches, misses) of ``candidates`` against ``reference``."""
    en_to_zh: dict[int, set[int]] = {}
    for en, zh in reference:
        for i in en:
            en_to_zh.setdefault(i, set()).update(zh)
    exact = lax_only = miss = 0
    for en, zh in candidates:
        if (en, zh) in reference:
            exact += 1
        elif any(en_to_zh.get(i, set()).intersection(zh) for i in en):
            lax_only += 1
        else:
            miss += 1
    return exact, lax_only, miss


def score_links(
    gold: Iterable[Sequence[Sequence[int]]], predicted: Iterable[Sequence[Sequence[int]]], drop_null: bool
) -> Counts:
    """vecalign-style strict and lax counts for one document."""
    gold_set = _normalise(gold, drop_null)
    test_set = _normalise(predicted, drop_null)
    p_exact, p_lax, p_miss = _matches(gold_set, test_set)
    _same_as_p_exact, r_lax, r_miss = _matches(test_set, gold_set)
    return Counts(
        tp_strict=p_exact,
        fp_strict=p_lax + p_miss,
        fn_strict=r_lax + r_miss,
        tp_lax=p_exact + p_lax,
        fp_lax=p_miss,
        fn_lax=r_miss,
    )


# ---------------------------------------------------------------------------- Gale–Church


def char_length(sentence: str) -> int:
    return sum(1 for ch in sentence if not ch.isspace())


def estimate_length_model(cases: Sequence[AlignmentCase]) -> tuple[float, float]:
    """(c, s2) from gold 1-1 links: c = total zh chars / total en chars, s2 = mean (zh - c·en)² / en."""
    pairs = [
        (char_length(case.en[link[0][0]]), char_length(case.zh[link[1][0]]))
        for case in cases
        for link in case.links
        if len(link[0]) == 1 and len(link[1]) == 1
    ]
    pairs = [(en, zh) for en, zh in pairs if en > 0]
    if not pairs:
        return DEFAULT_ZH_PER_EN_CHAR, DEFAULT_VARIANCE
    c = sum(zh for _, zh in pairs) / sum(en for en, _ in pairs)
    s2 = sum((zh - c * en) ** 2 / en for en, zh in pairs) / len(pairs)
    return c, s2


def _length_cost(en_len: int, zh_len: int, c: float, s2: float) -> float:
    """-log P(|delta|) under Gale–Church's normal model (mean length on the English scale)."""
    if en_len == 0 and zh_len == 0:
        return 0.0
    mean = (en_len + zh_len / c) / 2
    delta = (c * en_len - zh_len) / math.sqrt(s2 * mean)
    tail = math.erfc(abs(delta) / math.sqrt(2))  # = 2 * (1 - Phi(|delta|))
    return -math.log(max(tail, 1e-300))


def gale_church(
    en: Sequence[str], zh: Sequence[str], c: float = DEFAULT_ZH_PER_EN_CHAR, s2: float = DEFAULT_VARIANCE
) -> list[Link]:
    """Plain Gale–Church alignment (full dynamic programme, no band)."""
    en_prefix = [0]
    for sentence in en:
        en_prefix.append(en_prefix[-1] + char_length(sentence))
    zh_prefix = [0]
    for sentence in zh:
        zh_prefix.append(zh_prefix[-1] + char_length(sentence))
    n, m = len(en), len(zh)
    penalties = [(di, dj, -math.log(p)) for (di, dj), p in GALE_CHURCH_PRIORS.items()]
    cost = [[math.inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int]]] = [[(0, 0)] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 and j == 0:
                continue
            best, best_step = math.inf, (0, 0)
            for di, dj, penalty in penalties:
                if di > i or dj > j:
                    continue
                previous = cost[i - di][j - dj]
                if previous == math.inf:
                    continue
                en_len = en_prefix[i] - en_prefix[i - di]
                zh_len = zh_prefix[j] - zh_prefix[j - dj]
                total = previous + penalty + _length_cost(en_len, zh_len, c, s2)
                if total < best:
                    best, best_step = total, (di, dj)
            cost[i][j], back[i][j] = best, best_step
    links: list[Link] = []
    i, j = n, m
    while i > 0 or j > 0:
        di, dj = back[i][j]
        links.append((tuple(range(i - di, i)), tuple(range(j - dj, j))))
        i, j = i - di, j - dj
    links.reverse()
    return links


# ---------------------------------------------------------------------------- aligners


def load_project_aligner() -> tuple[Aligner | None, str]:
    """The project's ``align_sentences`` bound to ``configs/align.yaml``, or (None, reason)."""
    try:
        align_module = importlib.import_module("abstractpipe.align")
    except ImportError as exc:
        return None, f"abstractpipe.align cannot be imported ({exc})"
    align_sentences = getattr(align_module, "align_sentences", None)
    if align_sentences is None:
        return None, "abstractpipe.align has no align_sentences yet"
    params = yaml.safe_load(ALIGN_CONFIG_PATH.read_text(encoding="utf-8")) or {}

    def run(en: list[str], zh: list[str]) -> list[Link]:
        return [(tuple(a), tuple(b)) for a, b, _score in align_sentences(en, zh, params)]

    return run, "ok"


def evaluate(aligner: Aligner, cases: Sequence[AlignmentCase]) -> dict[str, Any]:
    """Scores under both null conventions, plus the list of documents with wrong links."""
    with_null, without_null = Counts(), Counts()
    errors: list[dict[str, Any]] = []
    for case in cases:
        predicted = aligner(case.en, case.zh)
        with_null.add(score_links(case.links, predicted, drop_null=False))
        without_null.add(score_links(case.links, predicted, drop_null=True))
        gold_set, test_set = set(case.links), set(predicted)
        if gold_set != test_set:
            errors.append(
                {
                    "id": case.id,
                    "missed": sorted([list(a), list(b)] for a, b in gold_set - test_set),
                    "spurious": sorted([list(a), list(b)] for a, b in test_set - gold_set),
                }
            )
    return {"incl_null": with_null.scores(), "excl_null": without_null.scores(), "errors": errors}


def pin_to_one_cpu() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to cpu {cpu}"
    return "not pinned (no sched_setaffinity)"


def time_aligner(aligner: Aligner, documents: Sequence[tuple[list[str], list[str]]], repeat: int) -> float:
    """Median wall time (s) to align all documents once, over ``repeat`` runs after a warm-up."""
    for en, zh in documents[:3]:
        aligner(en, zh)
    runs = []
    for _ in range(repeat):
        elapsed = 0.0
        for en, zh in documents:
            start = time.perf_counter()
            aligner(en, zh)
            elapsed += time.perf_counter() - start
        runs.append(elapsed)
    return sorted(runs)[len(runs) // 2]


def synthetic_document(cases: Sequence[AlignmentCase], en_sentences: int) -> tuple[list[str], list[str]]:
    """Concatenate dev abstracts (cycling) and cut at the gold link that reaches ``en_sentences``."""
    en: list[str] = []
    zh: list[str] = []
    while True:
        for case in cases:
            for link in case.links:
                en.extend(case.en[i] for i in link[0])
                zh.extend(case.zh[j] for j in link[1])
                if len(en) >= en_sentences:
                    return en[:en_sentences], zh


# ---------------------------------------------------------------------------- report


def link_type_counts(cases: Sequence[AlignmentCase]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for case in cases:
        for link in case.links:
            counts[link_type(link)] = counts.get(link_type(link), 0) + 1
    return dict(sorted(counts.items()))


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    cases = load_cases(Path(args.dev))
    problems = [p for case in cases for p in check_case(case)]
    if problems:
        raise SystemExit("dev set is malformed:\n" + "\n".join(problems))
    c, s2 = estimate_length_model(cases)
    c = args.gc_c if args.gc_c is not None else c
    s2 = args.gc_s2 if args.gc_s2 is not None else s2

    def baseline(en: list[str], zh: list[str]) -> list[Link]:
        return gale_church(en, zh, c, s2)

    aligners: dict[str, Aligner] = {"gale_church": baseline}
    project, status = load_project_aligner()
    if project is not None:
        aligners = {"project": project, **aligners}

    documents = [(case.en, case.zh) for case in cases]
    pairs = sum((len(en) + len(zh)) / 2 for en, zh in documents)
    result: dict[str, Any] = {
        "dev_set": {
            "path": str(Path(args.dev).relative_to(REPO))
            if Path(args.dev).is_relative_to(REPO)
            else args.dev,
            "documents": len(cases),
            "structured": sum(case.kind == "structured" for case in cases),
            "en_sentences": sum(len(case.en) for case in cases),
            "zh_sentences": sum(len(case.zh) for case in cases),
            "links": sum(len(case.links) for case in cases),
            "link_types": link_type_counts(cases),
        },
        "project_aligner": status,
        "gale_church_params": {"c": round(c, 4), "s2": round(s2, 4), "source": _param_source(args)},
        "cpu": pin_to_one_cpu(),
        "repeat": args.repeat,
        "aligners": {},
    }
    for name, aligner in aligners.items():
        quality = evaluate(aligner, cases)
        seconds = time_aligner(aligner, documents, args.repeat)
        stress = {}
        for size in (250, 500, 1000):
            en, zh = synthetic_document(cases, size)
            stress[str(size)] = round(time_aligner(aligner, [(en, zh)], max(1, args.repeat // 3)), 4)
        result["aligners"][name] = {
            **quality,
            "seconds_per_dev_pass": round(seconds, 5),
            "pairs_per_second": round(pairs / seconds, 1) if seconds else None,
            "stress_seconds": stress,
        }
    if "project" in result["aligners"]:
        project_rate = result["aligners"]["project"]["pairs_per_second"]
        baseline_rate = result["aligners"]["gale_church"]["pairs_per_second"]
        result["project_over_gale_church_speed"] = round(project_rate / baseline_rate, 3)
    return result


def _param_source(args: argparse.Namespace) -> str:
    if args.gc_c is not None and args.gc_s2 is not None:
        return "command line"
    return "estimated from dev gold 1-1 links" + (" (partly overridden)" if args.gc_c or args.gc_s2 else "")


def format_table(result: dict[str, Any]) -> str:
    dev = result["dev_set"]
    lines = [
        f"dev set: {dev['documents']} abstracts ({dev['structured']} structured), "
        f"{dev['en_sentences']} en / {dev['zh_sentences']} zh sentences, {dev['links']} gold links "
        + " ".join(f"{k}:{v}" for k, v in dev["link_types"].items()),
        f"project aligner: {result['project_aligner']}",
        f"gale-church: c={result['gale_church_params']['c']} s2={result['gale_church_params']['s2']} "
        f"({result['gale_church_params']['source']}); {result['cpu']}; median of {result['repeat']} runs",
        "",
    ]
    header = (
        f"{'aligner':<12} {'null':<5} {'strictP':>8} {'strictR':>8} {'strictF1':>8} "
        f"{'laxP':>7} {'laxR':>7} {'laxF1':>7}"
    )
    lines += [header, "-" * len(header)]
    for name, figures in result["aligners"].items():
        for convention, label in (("incl_null", "incl"), ("excl_null", "excl")):
            s = figures[convention]
            lines.append(
                f"{name:<12} {label:<5} {s['strict_p']:>8.3f} {s['strict_r']:>8.3f} {s['strict_f1']:>8.3f} "
                f"{s['lax_p']:>7.3f} {s['lax_r']:>7.3f} {s['lax_f1']:>7.3f}"
            )
    lines.append("")
    header = f"{'aligner':<12} {'pairs/s':>10} {'t250 s':>9} {'t500 s':>9} {'t1000 s':>9} {'t1000/t250':>11}"
    lines += [header, "-" * len(header)]
    for name, figures in result["aligners"].items():
        stress = figures["stress_seconds"]
        growth = stress["1000"] / stress["250"] if stress["250"] else math.nan
        lines.append(
            f"{name:<12} {figures['pairs_per_second']:>10} {stress['250']:>9} {stress['500']:>9} "
            f"{stress['1000']:>9} {growth:>11.2f}"
        )
    if "project_over_gale_church_speed" in result:
        lines.append(f"speed ratio project / gale-church: {result['project_over_gale_church_speed']}")
    lines.append("(linear growth: t1000/t250 ≈ 4; quadratic ≈ 16)")
    for name, figures in result["aligners"].items():
        lines.append("")
        lines.append(f"{name}: {len(figures['errors'])} abstracts with at least one wrong link")
        for error in figures["errors"]:
            lines.append(f"  {error['id']}: missed {error['missed']} predicted {error['spurious']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", default=str(DEV_PATH), help="dev set (JSONL)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    parser.add_argument("--repeat", type=int, default=7, help="timed passes over the dev set")
    parser.add_argument("--gc-c", type=float, help="Gale–Church zh/en character ratio (default: estimated)")
    parser.add_argument("--gc-s2", type=float, help="Gale–Church variance (default: estimated)")
    args = parser.parse_args(argv)
    result = run_benchmark(args)
    print(format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
