"""Main-content extraction benchmark: our clean stage against trafilatura, readability and resiliparse.

Every tool runs in this one process on the same pages, one page at a time; only the
extraction call (HTML string in, text out) is timed, with ``time.perf_counter``.

Data: ``../shared/eval/boilerplate/<set>.jsonl.gz`` beside the repository, one JSON
object a line ``{id, set, lang, url, html, gold_text[, page_type]}``. The script
exits 0 with a message when that folder is absent.

Scoring, per page, then averaged over the pages of a set (see ``tokenize`` and
``overlap_scores``): bag-of-tokens overlap between the tool's text and ``gold_text``.

    .venv/bin/python benchmarks/boilerplate.py --limit 10
    .venv/bin/python benchmarks/boilerplate.py --sets zh_cwced --tools ours,trafilatura --json out.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_DIR.parent / "shared" / "eval" / "boilerplate"
SETS = ("scrapinghub", "wcxb_dev300", "zh_cwced")
TOOLS = ("ours", "ours_titled", "trafilatura", "readability", "resiliparse")
# The PyPI distribution behind each tool, for the version line of the report.
TOOL_PACKAGES = {
    "ours": "abstractpipe",
    "ours_titled": "abstractpipe",
    "trafilatura": "trafilatura",
    "readability": "readability-lxml",
    "resiliparse": "resiliparse",
}

# --- scoring -------------------------------------------------------------------------

# Scripts written without spaces between words: every character is one token.
_CJK_CHARS = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uac00-\ud7af"  # hangul syllables
    "\U00020000-\U0002fa1f"  # CJK extensions B-F and compatibility supplement
)
# One CJK character, or a maximal run of letters/digits from any other script.
# ``[^\W_...]`` is "a word character that is neither ``_`` nor CJK".
_TOKEN_RE = re.compile(rf"[{_CJK_CHARS}]|[^\W_{_CJK_CHARS}]+")


def tokenize(text: str) -> list[str]:
    """Tokens for the overlap score.

    The text is NFKC-normalised (full-width letters and digits become ASCII, ligatures
    split) and case-folded. A token is then either one CJK character (Han, kana,
    hangul) or a maximal run of other letters and digits. Everything else -
    whitespace, punctuation, symbols, ``_`` - only separates tokens and is dropped,
    so "don't" gives ``don`` and ``t``, "COVID-19" gives ``covid`` and ``19``, and
    "２０２４年" gives ``2024`` and ``年``.
    """
    return _TOKEN_RE.findall(unicodedata.normalize("NFKC", text).casefold())


@dataclass(frozen=True)
class Overlap:
    precision: float
    recall: float
    f1: float


def overlap_scores(predicted: str, gold: str) -> Overlap:
    """Bag-of-tokens precision, recall and F1 of ``predicted`` against ``gold``.

    The overlap is the multiset intersection: a token counts as often as it occurs in
    both texts (min of its two counts). precision = overlap / predicted tokens,
    recall = overlap / gold tokens, F1 their harmonic mean. Edge cases: both texts
    without tokens score 1, 1, 1; an empty prediction against a non-empty gold scores
    0, 0, 0 (a tool gets no precision credit for returning nothing); a non-empty
    prediction against an empty gold scores precision 0, recall 1, F1 0.
    """
    predicted_counts = Counter(tokenize(predicted))
    gold_counts = Counter(tokenize(gold))
    predicted_total = sum(predicted_counts.values())
    gold_total = sum(gold_counts.values())
    if not predicted_total and not gold_total:
        return Overlap(1.0, 1.0, 1.0)
    if not predicted_total:
        return Overlap(0.0, 0.0, 0.0)
    if not gold_total:
        return Overlap(0.0, 1.0, 0.0)
    common = sum((predicted_counts & gold_counts).values())
    precision = common / predicted_total
    recall = common / gold_total
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    return Overlap(precision, recall, f1)


# --- copyright lines -----------------------------------------------------------------

# A footer line: "© 2024 ...", "Copyright (c) 2019 ...", "Copyright 2020 ...",
# "... All rights reserved.", "版权所有 ...", "Copyright © ...". "copyright" alone is
# not enough (articles about copyright law), it needs a ©/(c)/year after it.
_COPYRIGHT_RE = re.compile(
    r"©|&copy;|\(c\)\s*(?:19|20)\d\d|\bcopyright\s*(?:©|\(c\)|(?:19|20)\d\d)"
    r"|\ball\s+rights\s+reserved\b|版权所有|版權所有|版权声明",
    re.IGNORECASE,
)
# Longer lines are prose that happens to mention it, not a footer line.
COPYRIGHT_LINE_MAX_CHARS = 300


def has_copyright_line(text: str) -> bool:
    """True when some line of ``text`` (at most 300 characters) is a copyright notice."""
    return any(
        len(line) <= COPYRIGHT_LINE_MAX_CHARS and _COPYRIGHT_RE.search(line) for line in text.splitlines()
    )


# --- tools ---------------------------------------------------------------------------

Extractor = Callable[[str], str]
# Elements after which readability's HTML summary gets a line break when turned into text.
_READABILITY_BLOCKS = frozenset(
    {"p", "div", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "pre"}
    | {"blockquote", "br", "section", "article", "ul", "ol", "figcaption"}
)


def _ours(with_title: bool = False) -> Extractor:
    from abstractpipe.clean import compile_rules, extract_html
    from abstractpipe.config import load_config

    config = load_config(REPO_DIR / "configs" / "default.yaml")
    rules = compile_rules(config.load_rules(config.section("clean")["rules"]))

    def extract(html: str) -> str:
        page = extract_html(html, rules)
        # "ours" scores the body without the title heading (the gold of scrapinghub never has
        # the headline); "ours_titled" scores the record's text, title included.
        return page.text if with_title else page.body_text

    return extract


def _trafilatura() -> Extractor:
    import trafilatura

    def extract(html: str) -> str:
        # Defaults: neither favor_precision nor favor_recall; comments and tables included.
        return trafilatura.extract(html) or ""

    return extract


def _readability() -> Extractor:
    import lxml.html
    from readability import Document

    def extract(html: str) -> str:
        summary = Document(html).summary()
        root = lxml.html.fromstring(summary)
        # text_content() alone glues the last word of one paragraph to the next one's first.
        for element in root.iter():
            if isinstance(element.tag, str) and element.tag in _READABILITY_BLOCKS:
                element.tail = "\n" + (element.tail or "")
        return "\n".join(line.strip() for line in root.text_content().splitlines() if line.strip())

    return extract


def _resiliparse() -> Extractor:
    from resiliparse.extract.html2text import extract_plain_text

    def extract(html: str) -> str:
        return extract_plain_text(html, main_content=True)

    return extract


TOOL_FACTORIES: dict[str, Callable[[], Extractor]] = {
    "ours": _ours,
    "ours_titled": lambda: _ours(with_title=True),
    "trafilatura": _trafilatura,
    "readability": _readability,
    "resiliparse": _resiliparse,
}


_WARM_UP_HTML = (
    "<html><head><title>Warm-up</title></head><body><nav><a href='/'>Home</a></nav><article><h1>Title</h1>"
    + "<p>A paragraph of plain text, long enough to be taken as the main content of the page.</p>" * 5
    + "</article><footer>© 2024 Example</footer></body></html>"
)


def load_tools(names: list[str]) -> tuple[dict[str, Extractor], dict[str, str]]:
    """The extractors that import, and a note for each one that does not."""
    tools: dict[str, Extractor] = {}
    skipped: dict[str, str] = {}
    for name in names:
        try:
            tools[name] = TOOL_FACTORIES[name]()
        except ImportError as exc:
            skipped[name] = f"not installed ({exc.name or exc})"
            continue
        # Untimed first call: lazy imports and caches must not count against the first page.
        tools[name](_WARM_UP_HTML)
    return tools, skipped


def tool_version(name: str) -> str:
    try:
        return metadata.version(TOOL_PACKAGES[name])
    except metadata.PackageNotFoundError:
        return "?"


# --- running -------------------------------------------------------------------------


@dataclass
class PageResult:
    scores: Overlap
    seconds: float
    copyright: bool
    chars: int
    error: str | None = None


@dataclass
class Page:
    id: str
    set: str
    url: str
    page_type: str | None
    gold_copyright: bool
    results: dict[str, PageResult] = field(default_factory=dict)


def read_pages(data_dir: Path, set_name: str, limit: int | None) -> Iterator[dict[str, Any]]:
    """The first ``limit`` pages of one set, in file order."""
    with gzip.open(data_dir / f"{set_name}.jsonl.gz", "rt", encoding="utf-8") as lines:
        for index, line in enumerate(lines):
            if limit is not None and index >= limit:
                return
            yield json.loads(line)


def run_page(record: dict[str, Any], tools: dict[str, Extractor], turn: int = 0) -> Page:
    """Every tool on one page; ``turn`` rotates which tool goes first (the first one to touch
    a page pays for bringing it into the CPU caches)."""
    html: str = record["html"]
    gold: str = record["gold_text"]
    page = Page(
        id=str(record["id"]),
        set=record["set"],
        url=record.get("url") or "",
        page_type=record.get("page_type"),
        gold_copyright=has_copyright_line(gold),
    )
    names = list(tools)
    first = turn % len(names) if names else 0
    for name in names[first:] + names[:first]:
        extract = tools[name]
        error = None
        start = time.perf_counter()
        try:
            text = extract(html)
        except Exception as exc:  # a crash on one page scores 0 there, it does not stop the run
            text, error = "", f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - start
        page.results[name] = PageResult(
            scores=overlap_scores(text, gold),
            seconds=seconds,
            copyright=has_copyright_line(text),
            chars=len(text),
            error=error,
        )
    page.results = {name: page.results[name] for name in names}  # report in the asked order
    return page


@dataclass
class Summary:
    pages: int
    f1: float
    precision: float
    recall: float
    pages_per_second: float
    copyright_share: float
    errors: int


def summarise(pages: list[Page], tool: str) -> Summary:
    results = [page.results[tool] for page in pages]
    count = len(results)
    seconds = sum(r.seconds for r in results)
    return Summary(
        pages=count,
        f1=sum(r.scores.f1 for r in results) / count,
        precision=sum(r.scores.precision for r in results) / count,
        recall=sum(r.scores.recall for r in results) / count,
        pages_per_second=count / seconds if seconds else float("inf"),
        copyright_share=sum(r.copyright for r in results) / count,
        errors=sum(r.error is not None for r in results),
    )


# --- reporting -----------------------------------------------------------------------


def format_set_report(set_name: str, pages: list[Page], tools: list[str], worst: int) -> str:
    lines: list[str] = []
    gold_share = sum(p.gold_copyright for p in pages) / len(pages)
    lines.append(f"== {set_name}: {len(pages)} pages (gold keeps a copyright line on {gold_share:.0%})")
    summaries = {tool: summarise(pages, tool) for tool in tools}
    reference = summaries.get("trafilatura")
    lines.append(
        f"{'tool':<12} {'F1':>6} {'prec':>6} {'recall':>6} {'pages/s':>8} {'x traf':>7} {'(c)line':>8} {'errors':>6}"
    )
    for tool, s in summaries.items():
        ratio = f"{s.pages_per_second / reference.pages_per_second:.2f}" if reference else "-"
        lines.append(
            f"{tool:<12} {s.f1:>6.3f} {s.precision:>6.3f} {s.recall:>6.3f} {s.pages_per_second:>8.1f}"
            f" {ratio:>7} {s.copyright_share:>8.0%} {s.errors:>6}"
        )
    if reference and "ours" in summaries:
        ratio = summaries["ours"].pages_per_second / reference.pages_per_second
        lines.append(f"speed ours / trafilatura: {ratio:.2f}")

    page_types = sorted({p.page_type for p in pages if p.page_type})
    if page_types:
        lines.append("")
        lines.append("F1 by page type:")
        lines.append(f"{'page_type':<14} {'pages':>5} " + " ".join(f"{tool:>12}" for tool in tools))
        for page_type in page_types:
            subset = [p for p in pages if p.page_type == page_type]
            cells = " ".join(f"{summarise(subset, tool).f1:>12.3f}" for tool in tools)
            lines.append(f"{page_type:<14} {len(subset):>5} {cells}")

    if worst and reference and "ours" in summaries:
        gaps = sorted(
            pages,
            key=lambda p: (p.results["ours"].scores.f1 - p.results["trafilatura"].scores.f1, p.id),
        )[:worst]
        gaps = [p for p in gaps if p.results["ours"].scores.f1 < p.results["trafilatura"].scores.f1]
        if gaps:
            lines.append("")
            lines.append("Largest losses of ours against trafilatura (F1 ours/traf, P and R of ours):")
            for p in gaps:
                ours, traf = p.results["ours"], p.results["trafilatura"]
                kind = f" [{p.page_type}]" if p.page_type else ""
                lines.append(
                    f"  {p.id[:16]:<16}{kind} {ours.scores.f1:.2f}/{traf.scores.f1:.2f}"
                    f" P={ours.scores.precision:.2f} R={ours.scores.recall:.2f}"
                    f" chars={ours.chars}/{traf.chars} {p.url[:80]}"
                )
    errors = [(p.id, tool, r.error) for p in pages for tool, r in p.results.items() if r.error]
    for page_id, tool, error in errors[:5]:
        lines.append(f"  error {tool} on {page_id}: {error[:120]}")
    return "\n".join(lines)


def to_json(
    pages_by_set: dict[str, list[Page]], tools: list[str], skipped: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    return {
        "meta": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}",
            "cpus_used": _cpu_note(),
            "limit": args.limit,
            "versions": {tool: tool_version(tool) for tool in tools},
            "skipped": skipped,
        },
        "summary": {
            set_name: {tool: vars(summarise(pages, tool)) for tool in tools}
            for set_name, pages in pages_by_set.items()
        },
        "pages": [
            {
                "id": p.id,
                "set": p.set,
                "page_type": p.page_type,
                "url": p.url,
                "gold_copyright": p.gold_copyright,
                "tools": {
                    tool: {
                        "precision": round(r.scores.precision, 4),
                        "recall": round(r.scores.recall, 4),
                        "f1": round(r.scores.f1, 4),
                        "seconds": round(r.seconds, 5),
                        "copyright": r.copyright,
                        "chars": r.chars,
                        "error": r.error,
                    }
                    for tool, r in p.results.items()
                },
            }
            for pages in pages_by_set.values()
            for p in pages
        ],
    }


def _pin_to_one_core() -> set[int] | None:
    """Run on one core, so speeds compare single-core tools on equal terms; returns the old CPU set."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = set(os.sched_getaffinity(0))
    if len(allowed) > 1:
        os.sched_setaffinity(0, {min(allowed)})
    return allowed


def _cpu_note() -> str:
    if hasattr(os, "sched_getaffinity"):
        return f"{len(os.sched_getaffinity(0))} of {os.cpu_count()}"
    return f"? of {os.cpu_count()}"


def _names(value: str, allowed: tuple[str, ...], what: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(allowed)})"
        )
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sets", type=lambda v: _names(v, SETS, "set"), default=list(SETS), help="comma-separated sets"
    )
    parser.add_argument(
        "--tools", type=lambda v: _names(v, TOOLS, "tool"), default=list(TOOLS), help="comma-separated tools"
    )
    parser.add_argument("--limit", type=int, default=None, help="first N pages of each set")
    parser.add_argument("--json", type=Path, default=None, help="write per-page scores and the summary here")
    parser.add_argument("--worst", type=int, default=8, help="list the N pages where ours loses most")
    parser.add_argument(
        "--parsers",
        action="store_true",
        help="instead of extraction: time building the HTML tree with bs4 (lxml builder) vs lxml.html",
    )
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def compare_parsers(args: argparse.Namespace) -> int:
    """Seconds to build each set's trees: the figures behind clean's choice of parser."""
    import lxml.html

    from abstractpipe.clean.html import parse_tree

    builders: dict[str, Callable[[str], object]] = {
        "lxml.html": lambda html: lxml.html.document_fromstring(html.encode("utf-8", "replace")),
        # What the clean stage builds: a plain lxml.etree tree from the HTML parser.
        "lxml.etree (clean)": parse_tree,
    }
    try:
        from bs4 import BeautifulSoup

        builders["bs4 (lxml builder)"] = lambda html: BeautifulSoup(html, "lxml")
    except ImportError:
        print("note: beautifulsoup4 not installed; not timed")
    try:
        from selectolax.lexbor import LexborHTMLParser

        builders["selectolax (lexbor)"] = LexborHTMLParser
    except ImportError:
        print("note: selectolax not installed; not timed")
    print(f"{'set':<14} {'parser':<20} {'pages':>5} {'seconds':>8} {'pages/s':>8}")
    for set_name in args.sets:
        pages = [r["html"] for r in read_pages(args.data_dir, set_name, args.limit)]
        for name, build in builders.items():
            start = time.perf_counter()
            for html in pages:
                build(html)
            seconds = time.perf_counter() - start
            print(f"{set_name:<14} {name:<20} {len(pages):>5} {seconds:>8.2f} {len(pages) / seconds:>8.1f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data_dir.is_dir():
        print(f"boilerplate benchmark skipped: {args.data_dir} is absent")
        return 0
    previous_cpus = _pin_to_one_core()
    try:
        return compare_parsers(args) if args.parsers else _run(args)
    finally:
        if previous_cpus is not None:
            os.sched_setaffinity(0, previous_cpus)  # a caller (e.g. pytest) gets its CPUs back


def _run(args: argparse.Namespace) -> int:
    tools, skipped = load_tools(args.tools)
    for name, note in skipped.items():
        print(f"note: {name} skipped, {note}")
    if not tools:
        print("no tool to run")
        return 0
    names = list(tools)
    print(
        "versions: " + ", ".join(f"{tool} {tool_version(tool)}" for tool in names) + f"; cpus {_cpu_note()}"
    )

    pages_by_set: dict[str, list[Page]] = defaultdict(list)
    for set_name in args.sets:
        path = args.data_dir / f"{set_name}.jsonl.gz"
        if not path.is_file():
            print(f"note: set {set_name} skipped, {path} is absent")
            continue
        for record in read_pages(args.data_dir, set_name, args.limit):
            pages_by_set[set_name].append(run_page(record, tools, turn=len(pages_by_set[set_name])))
        if pages_by_set[set_name]:
            print()
            print(format_set_report(set_name, pages_by_set[set_name], names, args.worst), flush=True)

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = to_json(dict(pages_by_set), names, skipped, args)
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"\nper-page results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
