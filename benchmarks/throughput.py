"""Throughput and memory of batch runs, against trafilatura's extraction alone.

Builds a synthetic corpus from the sample pages in ``raw/`` (each page copied
many times over many sites, with a distinct closing paragraph so no two pages
are the same), then runs ``abstractpipe run`` on it in a fresh process with 1
and 2 workers and reads pages/s (over the run's own ``total_seconds``) and the
peak RSS of a worker from ``timings.json``.  trafilatura (``bench`` extra)
extracts the same HTML pages in this process, one core.

    .venv/bin/python benchmarks/throughput.py                     # 1,000 and 10,000 pages
    .venv/bin/python benchmarks/throughput.py --sizes 300 --workers 1,2
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SITES = 100


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
    args = parser.parse_args()
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as folder:
            raw = Path(folder) / "raw"
            html = build_corpus(raw, size)
            base = None
            for workers in [int(w) for w in args.workers.split(",")]:
                out = Path(folder) / f"out{workers}"
                result = run_ours(raw, out, workers)
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
                shutil.rmtree(out)
            if size == min(int(s) for s in args.sizes.split(",")):
                traf = run_trafilatura(html[: args.trafilatura_pages])
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
        print(f"done {size}", file=sys.stderr)
    print("| run | pages | pages/s | ms/page per core | speed-up | peak RSS/worker (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, pages, rate, ms, speedup, rss in rows:
        shown = f"{speedup:.2f}x" if speedup else ""
        print(f"| {name} | {pages} | {rate:.1f} | {ms:.1f} | {shown} | {rss:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
