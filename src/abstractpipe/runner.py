"""Runs the configured steps over a raw folder, shard by shard, and writes the output folder.

A run, in order:

1. plan: every page goes to a shard by its id (``abstractpipe.shards``), with a
   content hash (files whose size and mtime are unchanged keep their old hash);
2. observe (for each site-observing step, e.g. clean's cross-page boilerplate):
   each shard counts what it sees into ``.state/observe/``; a streaming reduce
   turns the counts into the learned state;
3. process: each shard streams its pages, in id order, through every step and
   writes ``records/part-<shard>.jsonl`` atomically, then its completion marker;
4. merge: quarantine, stats and run files from the markers of all shards.

A shard whose marker matches its content, the config and the learned state it
depends on is not run again, so an interrupted or killed run resumes where it
stopped and a run after some pages changed redoes only their shards (plus the
shards of the same sites if their learned boilerplate changed).  The output is
the same bytes whatever the worker count, executor or history of the folder.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import resource
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from abstractpipe import __version__
from abstractpipe.config import Config, ConfigError
from abstractpipe.document import Document, Failure
from abstractpipe.executors import Executor, make_executor
from abstractpipe.ingest import document_for_file, document_for_relative
from abstractpipe.limits import STAGE as LIMITS_STAGE
from abstractpipe.limits import WATCHDOG, Limits, PageTimeout, dom_depth_over
from abstractpipe.pipeline import Step, build_steps
from abstractpipe.schema import SCHEMA_VERSION
from abstractpipe.shards import (
    ShardPlan,
    State,
    file_sha256,
    part_name,
    plan_shards_into_state,
    read_pages,
    write_json_atomic,
)
from abstractpipe.write import ShardWriter, write_atomic, write_json

log = logging.getLogger("abstractpipe.runner")

DEFAULT_SHARDS = 64
PROGRESS_LOG_SECONDS = 10.0
QUARANTINE_KEYS = ("path", "id", "stage", "error")


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run: completed shards are kept, the merged files are not rewritten."""


@dataclass
class RunOptions:
    workers: int | None = None  # None: every core
    executor: str = "local"
    address: str | None = None  # dask scheduler; None: a LocalCluster
    force: bool = False  # redo every shard
    progress: bool | None = None  # None: a bar on a terminal, log lines otherwise


@dataclass
class RunSummary:
    pages: int
    records: int
    quarantined: int
    seconds: float
    out_dir: Path
    quarantine_by_stage: dict[str, int]
    notices: list[str]
    shards_run: int = 0
    shards_kept: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.quarantined else 0

    def lines(self) -> list[str]:
        lines = [
            f"pages read:   {self.pages}",
            f"records:      {self.records}",
            f"quarantined:  {self.quarantined}"
            + (
                " ("
                + ", ".join(f"{stage}: {n}" for stage, n in sorted(self.quarantine_by_stage.items()))
                + ")"
                if self.quarantined
                else ""
            ),
            f"shards:       {self.shards_run} run, {self.shards_kept} unchanged and kept",
            f"time:         {self.seconds:.2f} s",
            f"output:       {self.out_dir}",
        ]
        return lines + self.notices


# --- worker side: one shard ------------------------------------------------------------------


@dataclass
class ShardTask:
    kind: str  # "observe" | "process"
    number: int
    config: Config
    config_digest: str
    raw_dir: str
    out_dir: str
    pages: str  # ShardPlan.file: read by the task, not held per page by the driver
    page_count: int
    input_digest: str
    learned: dict[str, tuple[str, str]] = field(default_factory=dict)  # step -> (file, file digest)
    learned_digest: str = ""  # process: what the shard's sites depend on
    observer: str = ""  # observe: the step that observes
    compress: bool = False


@dataclass
class ReduceTask:
    """One part of a step's reduce of the shard observation files (``Step.reduce_part``)."""

    config: Config
    config_digest: str
    step: str
    paths: list[str]
    part: int
    parts: int
    learned: dict[str, tuple[str, str]] = field(default_factory=dict)  # earlier observers'


def run_reduce_task(task: ReduceTask) -> tuple[int, Any]:
    """Module-level so a process pool or a Dask worker can run it: (part, its result)."""
    steps = {step.name: step for step in _worker_steps(task)}
    return task.part, steps[task.step].reduce_part([Path(p) for p in task.paths], task.part, task.parts)


# Per process: the built steps of the current config, and which learned file each step holds.
_STEPS: dict[str, list[Step]] = {}
_LOADED: dict[str, str] = {}


def _worker_steps(task: ShardTask | ReduceTask) -> list[Step]:
    steps = _STEPS.get(task.config_digest)
    if steps is None:
        _STEPS.clear()
        _LOADED.clear()
        steps = _STEPS[task.config_digest] = build_steps(task.config)
    by_name = {step.name: step for step in steps}
    for name, (path, digest) in task.learned.items():
        if _LOADED.get(name) != digest:
            by_name[name].load_learned(Path(path))
            _LOADED[name] = digest
    for step in steps:
        step.counters = Counter()
        step.seconds = 0.0
    return steps


def _fail(doc: Document, error: str) -> Document:
    doc.failure = Failure(stage=LIMITS_STAGE, error=error)
    return doc


def run_page(
    steps: Sequence[Step],
    doc: Document,
    limits: Limits,
    depth_known: dict[str, str] | None = None,
    depth_found: dict[str, str] | None = None,
) -> Document:
    """One page through ``steps`` under the limits; never raises for a bad page.

    The DOM-depth estimate reads the whole markup, so a shard pays it once: its
    observation pass puts its verdict on each page it checked into ``depth_found``
    (path -> reason, "" when within the limit), and its processing pass, given them
    as ``depth_known``, trusts a page's verdict instead of estimating again.  A page
    without one (not checked: e.g. it timed out first) is estimated.
    """
    try:
        size = os.stat(doc.source.absolute_path).st_size
    except OSError:
        size = 0  # the ingest step reports the real problem
    if size > limits.max_page_bytes:
        return _fail(doc, f"page too large: {size} bytes > limits.max_page_bytes {limits.max_page_bytes}")
    stage = ""
    try:
        with WATCHDOG.deadline(limits.max_seconds_per_page):
            for step in steps:
                if doc.failed:
                    break
                stage = step.name
                doc = next(step(iter((doc,))))
                if step.name == "ingest" and not doc.failed:
                    _check_ingested(doc, limits, depth_known, depth_found)
    except PageTimeout:
        return _fail(
            doc, f"over limits.max_seconds_per_page ({limits.max_seconds_per_page:g} s) in stage {stage}"
        )
    return doc


def _check_ingested(
    doc: Document, limits: Limits, depth_known: dict[str, str] | None, depth_found: dict[str, str] | None
) -> None:
    if len(doc.raw) > limits.max_page_bytes:
        _fail(doc, f"page too large after gunzip: {len(doc.raw)} bytes > limits.max_page_bytes")
    elif doc.source.format != "html":
        return
    elif depth_known is not None and doc.source.path in depth_known:
        if depth_known[doc.source.path]:
            _fail(doc, depth_known[doc.source.path])
    else:
        depth = dom_depth_over(doc.markup, limits.max_dom_depth)
        reason = (
            f"markup nested deeper than limits.max_dom_depth ({depth} > {limits.max_dom_depth})"
            if depth
            else ""
        )
        if reason:
            _fail(doc, reason)
        if depth_found is not None:
            depth_found[doc.source.path] = reason


def _read_depth_verdicts(path: Path) -> dict[str, str] | None:
    """What this run's observation of the shard found too deep; None when it did not observe it
    (its observation was kept from an earlier run, whose work files are gone)."""
    try:
        verdicts = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return verdicts if isinstance(verdicts, dict) else None


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim  # glibc only; elsewhere nothing to do
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _load_malloc_trim() if sys.platform.startswith("linux") else None


def release_free_memory() -> None:
    """Give the heap's free pages back to the OS before a shard starts.

    Pages of different sizes leave glibc's heap fragmented: a worker's resident memory
    then crept up by a few MB per 10,000 pages although Python's own allocations stayed
    flat (tracemalloc).  Trimming between shards keeps it flat; it costs well under a
    millisecond per shard.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_shard_task(task: ShardTask) -> dict[str, Any]:
    """Module-level so a process pool or a Dask worker can run it."""
    release_free_memory()
    steps = _worker_steps(task)
    limits = Limits.from_config(task.config.section("limits"))
    raw_dir = Path(task.raw_dir)
    state = State(Path(task.out_dir))
    started = time.perf_counter()
    if task.kind == "observe":
        index = [step.name for step in steps].index(task.observer)
        observer = steps[index]
        observer.begin_observation()
        _LOADED.pop(observer.name, None)
        observer.save_work(state.work_path(task.observer, task.number))
        depth_verdicts: dict[str, str] = {}
        try:
            for ref in read_pages(task.pages):
                doc = run_page(
                    steps[:index],
                    document_for_relative(raw_dir, ref.path),
                    limits,
                    depth_found=depth_verdicts,
                )
                if doc.failed:
                    continue
                try:
                    with WATCHDOG.deadline(limits.max_seconds_per_page):
                        observer.observe(doc)
                except (Exception, PageTimeout):  # the process pass quarantines it with the real reason
                    continue
        finally:
            observer.save_work(None)
        write_json_atomic(state.depth_path(task.number), depth_verdicts)  # once every page is checked
        observer.dump_observation(state.observation_path(task.observer, task.number))
        write_json_atomic(state.observation_marker(task.observer, task.number), {"input": task.input_digest})
        return {
            "kind": "observe",
            "number": task.number,
            "pages": task.page_count,
            "peak_rss_mb": _peak_rss_mb(),
        }

    part = Path(task.out_dir) / "records" / part_name(task.number, task.compress)
    observers = [step for step in steps if step.observes_site]
    for step in observers:
        step.reuse_work(state.work_path(step.name, task.number))
    depth_known = _read_depth_verdicts(state.depth_path(task.number)) if observers else None
    try:
        with ShardWriter(part, task.compress) as writer:
            for ref in read_pages(task.pages):
                doc = document_for_relative(raw_dir, ref.path)
                writer.add(run_page(steps, doc, limits, depth_known))
            writer.commit()
    finally:
        for step in observers:
            step.reuse_work(None)
    marker = {
        "number": task.number,
        "config": task.config_digest,
        "input": task.input_digest,
        "learned": task.learned_digest,
        "pages": task.page_count,
        "records": writer.records,
        "quarantine": writer.quarantine,
        "counters": {step.name: dict(sorted(step.counters.items())) for step in steps},
        "seconds": {step.name: step.seconds for step in steps},
        "summary_lines": [line for step in steps for line in step.summary_lines()],
    }
    write_json_atomic(state.marker_path(task.number), marker)
    for step in observers:  # the shard is done; a later run saves its own
        state.work_path(step.name, task.number).unlink(missing_ok=True)
    state.depth_path(task.number).unlink(missing_ok=True)
    return {
        **marker,
        "kind": "process",
        "wall_seconds": time.perf_counter() - started,
        "peak_rss_mb": _peak_rss_mb(),
    }


# --- driver side -----------------------------------------------------------------------------


class Progress:
    """A tqdm bar on a terminal; otherwise a log line every few seconds."""

    def __init__(self, label: str, total_pages: int, bar: bool | None) -> None:
        self.label = label
        self.total = total_pages
        self.done = 0
        self.started = self.last_line = time.monotonic()
        self.bar = None
        if bar if bar is not None else sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total_pages, desc=label, unit="page", file=sys.stderr, leave=False)

    def update(self, pages: int) -> None:
        self.done += pages
        if self.bar is not None:
            self.bar.update(pages)
            return
        now = time.monotonic()
        if now - self.last_line >= PROGRESS_LOG_SECONDS or self.done >= self.total:
            rate = self.done / max(now - self.started, 1e-9)
            log.info("%s: %d/%d pages (%.1f pages/s)", self.label, self.done, self.total, rate)
            self.last_line = now

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


WARM_UP_PAGE = (
    "Aspirin reduced fever in 120 adults (P<0.05).\n\n阿司匹林降低了 120 名成人的发热（P<0.05）。\n"
)


def _warm_up(steps: list[Step], raw_dir: Path) -> None:
    """One small page through the steps before workers fork, so each need not load lazy models itself."""
    import tempfile

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "warm-up.txt"
        page.write_text(WARM_UP_PAGE, encoding="utf-8")
        run_page(steps, document_for_file(page, Path(folder)), Limits.from_config({}))
    # Said, because in a parallel run it is what the counting pass's wall time partly is.
    log.info("models loaded once for every worker in %.2f s", time.perf_counter() - started)


def _combined_digest(parts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode("ascii")).hexdigest()


@functools.cache
def code_digest() -> str:
    """SHA-256 of the package's own files: its code, shipped models and packaged configs.

    Records depend on the code as much as on the config, so a run after the code changed
    (an upgrade, a developer's edit under the same version number) redoes every shard
    instead of keeping records the old code wrote.  A few milliseconds, once per process.
    """
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo") or not path.is_file():
            continue
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _run_tasks(
    executor: Executor,
    tasks: list[ShardTask],
    label: str,
    bar: bool | None,
    on_result: Callable[[dict], None],
    meanwhile: Callable[[], None] | None = None,
) -> None:
    if not tasks:
        return
    progress = Progress(label, sum(t.page_count for t in tasks), bar)
    try:
        for result in executor.run(run_shard_task, tasks, meanwhile):
            on_result(result)
            progress.update(result["pages"])
    finally:
        progress.close()


def _reduce(
    executor: Executor,
    step: Step,
    paths: list[Path],
    out: Path,
    make_reduce_task: Callable[[Step, list[Path], int, int], ReduceTask],
) -> dict[str, int]:
    """The step's reduce: in the driver, or in one part per worker when it splits.

    The reduce reads every shard's counts, so on many cores it would be the run's serial
    part; split by site, each worker reads the files but works through its own sites only.
    """
    parts = min(executor.workers, len(paths))
    if parts < 2 or not step.splits_reduce:
        return step.reduce_observations(paths, out)
    tasks = [make_reduce_task(step, paths, part, parts) for part in range(parts)]
    results = dict(executor.run(run_reduce_task, tasks))
    return step.join_reduced([results[part] for part in range(parts)], out)


def _observe_and_learn(
    executor: Executor,
    steps: list[Step],
    plans: list[ShardPlan],
    make_task: Callable[..., ShardTask],
    state: State,
    options: RunOptions,
    peaks: list[float],
    make_reduce_task: Callable[..., ReduceTask],
    meanwhile: Callable[[], None] | None = None,
) -> tuple[dict[str, tuple[str, str]], dict[str, dict[str, int]]]:
    learned: dict[str, tuple[str, str]] = {}
    counters: dict[str, dict[str, int]] = {}
    for step in steps:
        if not step.observes_site:
            continue
        # What the observation of a shard depends on: its pages and what earlier observers learned.
        earlier = _combined_digest([digest for _, digest in learned.values()])
        wanted = {plan.number: _combined_digest([plan.digest, earlier]) for plan in plans if plan.count}
        todo = []
        for plan in plans:
            if not plan.count:
                continue
            done = state.observation_marker(step.name, plan.number)
            try:
                valid = json.loads(done.read_text(encoding="utf-8"))["input"] == wanted[plan.number]
            except (OSError, ValueError, KeyError, TypeError):
                valid = False
            if not valid:
                todo.append(
                    make_task("observe", plan, wanted[plan.number], dict(learned), observer=step.name)
                )
        log.info("%s: observing %d of %d shards", step.name, len(todo), len(wanted))
        _run_tasks(
            executor,
            todo,
            f"{step.name}: observe",
            options.progress,
            lambda r: peaks.append(r["peak_rss_mb"]),
            meanwhile,
        )

        out = state.learned_path(step.name)
        inputs = _combined_digest([f"{n}:{wanted[n]}" for n in sorted(wanted)])
        meta = out.with_name(out.name + ".inputs")
        saved = meta.read_text(encoding="utf-8") if meta.is_file() else ""
        if out.is_file() and saved.startswith(inputs + "\n"):
            step.load_learned(out)
            counters[step.name] = json.loads(saved.split("\n", 1)[1])
        else:
            paths = [state.observation_path(step.name, n) for n in sorted(wanted)]
            tasks_for = functools.partial(make_reduce_task, learned=dict(learned))
            counters[step.name] = _reduce(executor, step, paths, out, tasks_for)
            write_atomic(meta, inputs + "\n" + json.dumps(counters[step.name], sort_keys=True))
        digest = file_sha256(out)
        learned[step.name] = (str(out), digest)
        _LOADED[step.name] = digest  # the driver's step holds it (forked workers inherit it)
    return learned, counters


def run_pipeline(
    config: Config, raw_dir: Path, out_dir: Path, options: RunOptions | None = None
) -> RunSummary:
    options = options or RunOptions()
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"raw folder not found: {raw_dir}")
    started = time.perf_counter()
    steps = build_steps(config)
    Limits.from_config(config.section("limits"))  # fail fast on a bad limits section
    shards = config.section("run").get("shards", DEFAULT_SHARDS)
    if not isinstance(shards, int) or isinstance(shards, bool) or not 1 <= shards <= 100000:
        raise ConfigError(f"run.shards must be a whole number from 1 to 100000, got {shards!r}")
    compress = bool(config.section("write").get("gzip", False))
    # What every shard's output depends on besides its pages: the config with its rule
    # files, and inputs steps declare (the curation overlay).
    fingerprints = [f"{step.name}:{step.input_fingerprint()}" for step in steps if step.input_fingerprint()]
    config_digest = _combined_digest([config.digest(), *fingerprints]) if fingerprints else config.digest()
    code = code_digest()
    notices: list[str] = []

    state = State(out_dir)
    manifest = state.load_manifest()
    if options.force:
        state.reset()
    elif manifest:
        changed = [
            (what, f"{key[:-7]} {str(manifest.get(key))[:12]} -> {now[:12]}")
            for what, key, now in (
                ("config or corrections", "config_sha256", config_digest),
                ("code", "code_sha256", code),
            )
            if manifest.get(key) != now
        ]
        if changed:
            notice = (
                f"{' and '.join(what for what, _ in changed)} changed since the last run into {out_dir} "
                f"({'; '.join(digests for _, digests in changed)}): every shard is redone"
            )
            log.warning(notice)
            notices.append(notice)
            state.reset()
    _STEPS.clear()
    _LOADED.clear()
    _STEPS[config_digest] = steps
    executor = make_executor(options.executor, options.workers, options.address)
    # Local workers are forked twice. The observation pass needs no models, so its workers
    # start at once, before the page list exists, while the driver loads the lazy models
    # (spaCy, jieba's dictionary, langdetect's table) on the core they leave free; the
    # processing pass's workers are forked after that and the reduce, and inherit the warm
    # steps and the learned files, so none loads a model itself.
    forking = options.executor == "local" and executor.workers > 1
    warm = False

    def warm_up_once() -> None:
        nonlocal warm
        if not warm:
            _warm_up(steps, raw_dir)
            warm = True

    try:
        if forking:
            executor.start()
        state.clear_work()
        plans = plan_shards_into_state(
            raw_dir, shards, {"config_sha256": config_digest, "code_sha256": code, "shards": shards}, state
        )
    except BaseException:
        executor.abort()
        raise
    records_dir = out_dir / "records"
    records_dir.mkdir(parents=True, exist_ok=True)
    for temp in records_dir.glob(".part-*.tmp"):  # left by a killed run
        temp.unlink(missing_ok=True)

    def make_task(kind: str, plan: ShardPlan, digest: str, learned: dict, **extra: Any) -> ShardTask:
        return ShardTask(
            kind=kind,
            number=plan.number,
            config=config,
            config_digest=config_digest,
            raw_dir=str(raw_dir.resolve()),
            out_dir=str(out_dir.resolve()),
            pages=plan.file,
            page_count=plan.count,
            input_digest=digest,
            learned=learned,
            compress=compress,
            **extra,
        )

    def make_reduce_task(
        step: Step, paths: list[Path], part: int, parts: int, learned: dict[str, tuple[str, str]]
    ) -> ReduceTask:
        return ReduceTask(
            config=config,
            config_digest=config_digest,
            step=step.name,
            paths=[str(path.resolve()) for path in paths],
            part=part,
            parts=parts,
            learned=learned,
        )

    peaks: list[float] = []
    results: dict[int, dict[str, Any]] = {}
    markers: dict[int, dict[str, Any]] = {}
    try:
        learned, learned_counters = _observe_and_learn(
            executor,
            steps,
            plans,
            make_task,
            state,
            options,
            peaks,
            make_reduce_task,
            warm_up_once if forking else None,  # one process loads its models lazily, when used
        )
        observers = [step for step in steps if step.observes_site]
        todo = []
        for plan in plans:
            learned_digest = _combined_digest([step.learned_digest(plan.sites) for step in observers])
            marker = state.read_marker(plan.number)
            if (
                marker is not None
                and marker.get("config") == config_digest
                and marker.get("input") == plan.digest
                and marker.get("learned") == learned_digest
                and (records_dir / part_name(plan.number, compress)).is_file()
            ):
                markers[plan.number] = marker
            else:
                todo.append(make_task("process", plan, plan.digest, learned, learned_digest=learned_digest))
        log.info("processing %d of %d shards (%d unchanged)", len(todo), len(plans), len(markers))
        if todo and options.executor == "local":
            # Before the first page, so no page's max_seconds_per_page pays for loading them.
            warm_up_once()
        if todo and forking:
            release_free_memory()  # what the driver freed is not copied into every worker
            executor.restart()

        def collect(result: dict[str, Any]) -> None:
            results[result["number"]] = result
            peaks.append(result["peak_rss_mb"])

        _run_tasks(executor, todo, "pages", options.progress, collect)
    except KeyboardInterrupt as exc:
        executor.abort()
        raise RunInterrupted(f"interrupted: {len(results)} shards completed in this run are kept") from exc
    except BaseException:
        executor.abort()
        raise
    executor.close()
    markers.update(results)
    shutil.rmtree(state.plan_dir, ignore_errors=True)  # this run's page lists: the next run plans anew

    expected = {part_name(plan.number, compress) for plan in plans}
    for stale in [*records_dir.glob("part-*.jsonl"), *records_dir.glob("part-*.jsonl.gz")]:
        if stale.name not in expected:  # other shard count, or the other compression
            stale.unlink()

    ordered = [markers[number] for number in sorted(markers)]
    quarantine = sorted((q for m in ordered for q in m["quarantine"]), key=lambda q: (q["path"], q["stage"]))
    write_atomic(
        out_dir / "quarantine.jsonl",
        "".join(
            # Fixed key order: lines from markers on disk (keys sorted) and fresh results agree.
            json.dumps({key: q[key] for key in QUARANTINE_KEYS}, ensure_ascii=False, separators=(",", ":"))
            + "\n"
            for q in quarantine
        ),
    )
    stages: dict[str, Counter[str]] = {step.name: Counter() for step in steps}
    for marker in ordered:
        for name, counts in marker["counters"].items():
            stages.setdefault(name, Counter()).update(counts)
    for name, counts in learned_counters.items():
        stages[name].update(counts)
    pages = sum(m["pages"] for m in ordered)
    records = sum(m["records"] for m in ordered)
    quarantine_by_stage = dict(sorted(Counter(q["stage"] for q in quarantine).items()))
    write_json(
        out_dir / "stats.json",
        {
            "pages": pages,
            "records": records,
            "quarantined": len(quarantine),
            "quarantined_by_stage": quarantine_by_stage,
            "shards": shards,
            "stages": {name: dict(sorted(counts.items())) for name, counts in stages.items()},
        },
    )
    write_json(
        out_dir / "run.json",
        {
            "package": "abstractpipe",
            "package_version": __version__,
            "schema_version": SCHEMA_VERSION,
            "config": config.data,
            "config_sha256": config_digest,
            "code_sha256": code,
            "rule_files": sorted(config.rules),
            "input_count": pages,
        },
    )
    seconds = time.perf_counter() - started
    stage_seconds: Counter[str] = Counter()
    for result in results.values():
        stage_seconds.update(result["seconds"])
    write_json(
        out_dir / "timings.json",
        {
            "total_seconds": round(seconds, 3),
            "stages": {name: round(stage_seconds[name], 3) for name in stages},
            "executor": options.executor,
            "workers": executor.workers,
            "shards_run": len(results),
            "shards_kept": len(plans) - len(results),
            "pages_run": sum(r["pages"] for r in results.values()),
            "peak_rss_mb_per_worker": max(peaks, default=_peak_rss_mb()),
        },
    )
    lines = sorted({line for m in ordered for line in m.get("summary_lines", [])})
    return RunSummary(
        pages=pages,
        records=records,
        quarantined=len(quarantine),
        seconds=seconds,
        out_dir=out_dir,
        quarantine_by_stage=quarantine_by_stage,
        notices=notices + lines,
        shards_run=len(results),
        shards_kept=len(plans) - len(results),
    )
