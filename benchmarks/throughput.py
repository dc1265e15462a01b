"""Throughput and memory of batch runs, against trafilatura's extraction alone.

Builds a synthetic corpus from the sample pages in ``raw/`` (each page copied
many times over many sites, with a distinct closing paragraph so no two pages
are the same), then runs ``abstractpipe run`` on it in a fresh process with 1
and 2 workers and reads pages/s (over the run's own ``total_seconds``) and the
peak RSS of a worker from ``timings.json``.  trafilatura (``bench`` extra)
extracts the same HTML pages in this process, one core.

Two like-for-like rows go with it, both one worker against trafilatura on exactly
the same pages:

- ``HTML pages only``: the corpus's HTML pages alone (trafilatura reads no text
  dumps, and those cost the pipeline less than HTML pages);
- ``real pages``: the 264 pages of ``../shared/eval/boilerplate/`` (news, blogs,
  forums, products, Chinese sites: each one unseen, so no cache flatters the
  pipeline), written to a temporary folder; skipped when ``../shared`` is absent.

    .venv/bin/python benchmarks/throughput.py                     # 1,000 and 10,000 pages
    .venv/bin/python benchmarks/throughput.py --sizes 300 --workers 1,2
    .venv/bin/python benchmarks/throughput.py --sizes 1000 --workers 1 --no-real
    .venv/bin/python benchmarks/throughput.py --repeat 3           # each run 3 times, fastest kept

On a shared machine, other tenants only ever slow a run down, and by a different amount
from one run to the next: with ``--repeat N`` every run (ours and trafilatura's) is made N
times, the worker counts taking turns, and the fastest is kept (as ``timeit`` does); a
peak RSS is the largest seen.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SITES = 100
REAL_PAGES = REPO.parent / "shared" / "eval" / "boilerplate"


def sample_pages() -> list[tuple[str, bytes]]:
    pages = []
    for path in sorted((REPO / "raw").rglob("*")):
        if not path.is_file() or path.name.endswith(".json"):
            continue
        data = path.read_bytes()
        name = path.name
        if name.endswith(".gz"):
            data, name = gzip.decompress(data), name[:-3]
        pages.append((Path(name).suffix, data))
    return pages


def build_corpus(root: Path, count: int) -> list[Path]:
    samples = sample_pages()
    html = []
    for number in range(count):
        suffix, data = samples[number % len(samples)]
        closing = f"Page {number} of the synthetic corpus.".encode()
        if suffix == ".html":
            data = data.replace(b"</body>", b"<p>" + closing + b"</p></body>", 1)
        else:
            data = data + b"\n\n" + closing + b"\n"
        # consecutive pages share a site, so a site holds every kind of sample page
        path = root / f"site{number // 10 % SITES:03d}" / f"page{number:06d}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if suffix == ".html":
            html.append(path)
    return html


def run_ours(raw: Path, out: Path, workers: int) -> dict:
    command = [sys.executable, "-m", "abstractpipe", "run", "--raw", str(raw), "--out", str(out)]
    command += ["--workers", str(workers), "--no-progress", "--log-level", "WARNING"]
    subprocess.run(command, cwd=REPO, check=False, capture_output=True)
    timings = json.loads((out / "timings.json").read_text(encoding="utf-8"))
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    return {
        "pages": stats["pages"],
        "seconds": timings["total_seconds"],
        "rss": timings["peak_rss_mb_per_worker"],
    }


def fastest(runs: list[dict]) -> dict:
    """The fastest of repeated runs, with the largest peak RSS any of them reached."""
    best = min(runs, key=lambda run: run["seconds"])
    return {**best, "rss": max(run["rss"] for run in runs)}


def html_only(raw: Path, html: list[Path], folder: Path) -> Path:
    """A raw folder holding only the corpus's HTML pages (hard links: no copies)."""
    for path in html:
        target = folder / path.relative_to(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)
    return folder


def real_pages(folder: Path) -> list[Path]:
    """The evaluation set's real HTML pages as files, one folder per set; [] without ../shared."""
    pages = []
    for source in sorted(REAL_PAGES.glob("*.jsonl.gz")):
        with gzip.open(source, "rt", encoding="utf-8") as lines:
            for line in lines:
                page = json.loads(line)
                path = folder / f"{page['set']}" / f"{page['id']}.html"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(page["html"], encoding="utf-8")
                pages.append(path)
    return pages


def run_trafilatura(pages: list[Path]) -> dict | None:
    try:
        import trafilatura
    except ImportError:
        return None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    for path in pages:
        trafilatura.extract(path.read_text(encoding="utf-8", errors="replace"))
    seconds = time.perf_counter() - started
    return {
        "pages": len(pages),
        "seconds": seconds,
        "rss": max(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000", help="corpus sizes in pages (default: 1000,10000)")
    parser.add_argument("--workers", default="1,2", help="worker counts (default: 1,2)")
    parser.add_argument("--trafilatura-pages", type=int, default=1000, help="HTML pages for trafilatura")
    parser.add_argument("--no-real", action="store_true", help="skip the real-pages row")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind, fastest kept (default: 1)")
    args = parser.parse_args()
    repeat = max(1, args.repeat)
    rows = []
    sizes = [int(s) for s in args.sizes.split(",")]

    def add_peer_rows(name: str, folder: Path, html: list[Path], out: Path) -> None:
        """Ours, one worker, on ``folder``, then trafilatura on the same HTML pages.

        Ours is also run on the first page alone: the difference is the cost of the other
        pages without the run's fixed start-up (imports, models, planning), which a few
        hundred pages cannot amortise but a batch job does; trafilatura's import is not
        timed either.
        """
        alone = out.with_name(out.name + "-one")
        one = html_only(html[0].parent.parent, html[:1], alone.with_name(alone.name + "-raw"))
        runs, fixed_runs, traf_runs = [], [], []
        for _ in range(repeat):
            runs.append(run_ours(folder, out, 1))
            shutil.rmtree(out)
            fixed_runs.append(run_ours(one, alone, 1))
            shutil.rmtree(alone)
            traf_runs.append(run_trafilatura(html))
        ours, fixed = fastest(runs), fastest(fixed_runs)["seconds"]
        traf = fastest(traf_runs) if all(traf_runs) else None
        ours_ms = 1000 * ours["seconds"] / ours["pages"]
        marginal_ms = 1000 * (ours["seconds"] - fixed) / max(ours["pages"] - 1, 1)
        rows.append(
            (f"abstractpipe, 1 worker, {name}", ours["pages"], 1000 / ours_ms, ours_ms, None, ours["rss"])
        )
        if traf:
            ms = 1000 * traf["seconds"] / traf["pages"]
            rows.append(
                (f"trafilatura.extract, {name}, 1 core", traf["pages"], 1000 / ms, ms, None, traf["rss"])
            )
            peers.append((name, traf["pages"], ours_ms, marginal_ms, ms))

    peers: list[tuple[str, int, float, float, float]] = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            raw = Path(folder) / "raw"
            html = build_corpus(raw, size)
            base = None
            counts = [int(w) for w in args.workers.split(",")]
            runs: dict[int, list[dict]] = {workers: [] for workers in counts}
            for _ in range(repeat):
                for workers in counts:  # taking turns: a slow spell hits every count alike
                    out = Path(folder) / f"out{workers}"
                    runs[workers].append(run_ours(raw, out, workers))
                    shutil.rmtree(out)
            for workers in counts:
                result = fastest(runs[workers])
                rate = result["pages"] / result["seconds"]
                base = base or rate
                rows.append(
                    (
                        f"abstractpipe, {workers} worker(s)",
                        size,
                        rate,
                        1000 / rate * workers,
                        rate / base,
                        result["rss"],
                    )
                )
            if size == min(sizes):
                traf_runs = [run_trafilatura(html[: args.trafilatura_pages]) for _ in range(repeat)]
                traf = fastest(traf_runs) if all(traf_runs) else None
                if traf:
                    rate = traf["pages"] / traf["seconds"]
                    rows.append(
                        (
                            "trafilatura.extract, HTML pages only, 1 core",
                            traf["pages"],
                            rate,
                            1000 / rate,
                            None,
                            traf["rss"],
                        )
                    )
                only = html_only(raw, html[: args.trafilatura_pages], Path(folder) / "html-only")
                add_peer_rows(
                    "HTML pages only", only, html[: args.trafilatura_pages], Path(folder) / "out-html"
                )
        print(f"done {size}", file=sys.stderr)
    if not args.no_real and REAL_PAGES.is_dir():
        with tempfile.TemporaryDirectory() as folder:
            pages = real_pages(Path(folder) / "raw")
            add_peer_rows(f"real pages ({len(pages)})", Path(folder) / "raw", pages, Path(folder) / "out")
        print("done real pages", file=sys.stderr)
    elif not args.no_real:
        print(f"{REAL_PAGES} is absent: no real-pages row", file=sys.stderr)
    print("| run | pages | pages/s | ms/page per core | speed-up | peak RSS/worker (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, pages, rate, ms, speedup, rss in rows:
        shown = f"{speedup:.2f}x" if speedup else ""
        print(f"| {name} | {pages} | {rate:.1f} | {ms:.1f} | {shown} | {rss:.0f} |")
    if peers:
        print()
        print(
            "| same pages, one core | pages | abstractpipe ms/page (whole run) | abstractpipe ms/page "
            "(without start-up) | trafilatura ms/page | speed / trafilatura (whole run, without start-up) |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for name, pages, ours_ms, marginal_ms, traf_ms in peers:
            print(
                f"| {name} | {pages} | {ours_ms:.1f} | {marginal_ms:.1f} | {traf_ms:.1f} "
                f"| {traf_ms / ours_ms:.2f}x, {traf_ms / marginal_ms:.2f}x |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
