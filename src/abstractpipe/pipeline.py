"""A pipeline is a list of small steps; each maps a stream of documents to a stream.

Modelled on datatrove: a step keeps its own counters (written to
``stats.json``) and never raises out of the stream.  A document a step cannot
handle is marked failed (stage and reason) and passed on untouched by the
later steps, so the writer can put it into the quarantine: nothing is lost.

A step that learns from the whole site (cross-page boilerplate) sets
``observes_site = True`` and implements ``observe``.  The runner then makes a
first pass in which the steps before it run normally and it only observes;
after ``end_observation`` the second pass runs everything.  Only counters live
between the passes, never documents.

Sharded runs (``abstractpipe.runner``) split that first pass across shards and
processes: each shard calls ``begin_observation``, ``observe`` per page and
``dump_observation`` (its counts go to disk); one ``reduce_observations`` merges
the shard files into the learned state; every shard task then
``load_learned``s it.  A shard's observation may save per-page work
(``save_work``, e.g. the parsed page) that its processing reuses
(``reuse_work``), so a page is not parsed twice; only files, never documents,
pass between the two.  ``learned_digest`` says which part of that state a shard
depends on, so an incremental run redoes exactly the shards it changes.
"""

from __future__ import annotations

import importlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from abstractpipe.config import Config, ConfigError
from abstractpipe.document import Document, Failure

STEP_REGISTRY: dict[str, type[Step]] = {}


class PageError(ValueError):
    """A page a step cannot handle; the message is the quarantine reason as users read it."""


def failure_reason(exc: Exception) -> str:
    # Expected page problems read as plain reasons; anything else is a bug and names its type.
    if isinstance(exc, ValueError) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def register_step(name: str) -> Callable[[type[Step]], type[Step]]:
    """Class decorator: make a step available to configs under ``name``."""

    def decorate(cls: type[Step]) -> type[Step]:
        cls.name = name
        STEP_REGISTRY[name] = cls
        return cls

    return decorate


class Step:
    name: ClassVar[str] = "step"
    observes_site: ClassVar[bool] = False

    def __init__(self, config: Config) -> None:
        self.config = config
        self.settings = config.section(self.name)
        self.counters: Counter[str] = Counter()
        self.seconds = 0.0

    def load_stage_rules(self, key: str = "rules", default: str | None = None) -> dict[str, Any]:
        """The rule file this stage's config section names under ``key`` (else ``default``),
        loaded and checked to be a mapping; {} when neither names one."""
        relative = self.settings.get(key) or default
        if not relative:
            return {}
        rules = self.config.load_rules(str(relative)) or {}
        if not isinstance(rules, dict):
            raise ConfigError(f"{self.name}.{key}: rule file {relative} must be a mapping")
        return rules

    def process(self, doc: Document) -> Document:
        raise NotImplementedError

    def observe(self, doc: Document) -> None:
        """First-pass hook for site-level learning; only called when ``observes_site``."""

    def end_observation(self) -> None:
        """Called once after the first pass, before any ``process``."""

    # -- sharded observation (only for steps with ``observes_site``) --

    def begin_observation(self) -> None:
        """Forget anything observed before: a new shard starts."""

    def dump_observation(self, path: Path) -> None:
        """Write what ``observe`` saw since ``begin_observation`` to ``path``, then forget it."""
        raise NotImplementedError(f"step {self.name} observes sites but cannot run sharded")

    def reduce_observations(self, paths: list[Path], out: Path) -> dict[str, int]:
        """Merge shard observation files into the learned state at ``out``; returns counters."""
        raise NotImplementedError(f"step {self.name} observes sites but cannot run sharded")

    # A step with ``splits_reduce`` also reduces in disjoint parts that workers compute side
    # by side: ``join_reduced([reduce_part(paths, p, n) for p in range(n)], out)`` must do
    # what ``reduce_observations(paths, out)`` does, for any ``n``.
    splits_reduce: ClassVar[bool] = False

    def reduce_part(self, paths: list[Path], part: int, parts: int) -> Any:
        """Part ``part`` of ``parts`` of the reduce (picklable: it may come from another process)."""
        raise NotImplementedError(f"step {self.name} does not split its reduce")

    def join_reduced(self, results: list[Any], out: Path) -> dict[str, int]:
        """The learned state at ``out`` from every part's ``reduce_part``; returns counters."""
        raise NotImplementedError(f"step {self.name} does not split its reduce")

    def load_learned(self, path: Path) -> None:
        """Use the learned state written by ``reduce_observations`` (replaces ``end_observation``)."""
        raise NotImplementedError(f"step {self.name} observes sites but cannot run sharded")

    def learned_digest(self, sites: Iterable[str]) -> str:
        """A digest of the learned state that pages of ``sites`` depend on."""
        raise NotImplementedError(f"step {self.name} observes sites but cannot run sharded")

    # -- per-page work the observation of a shard hands to its processing (optional) --

    def save_work(self, path: Path | None) -> None:
        """While observing one shard, ``observe`` may save per-page work to ``path`` for
        ``process`` to reuse (a parse it would otherwise repeat); None closes the file."""

    def reuse_work(self, path: Path | None) -> None:
        """While processing one shard, ``process`` may reuse what was saved at ``path`` in
        this run (the file may be missing); None closes it."""

    def input_fingerprint(self) -> str:
        """Digest of any input besides the config and the pages that changes this step's output
        (e.g. the curation overlay); kept shards are redone when it changes. "" for none."""
        return ""

    def summary_lines(self) -> list[str]:
        """Lines this step adds to the run summary a user reads (e.g. stale corrections)."""
        return []

    def __call__(self, docs: Iterable[Document]) -> Iterator[Document]:
        for doc in docs:
            if doc.failed:
                yield doc
                continue
            started = time.perf_counter()
            try:
                doc = self.process(doc)
                self.counters["documents"] += 1
            except Exception as exc:  # a bad page must not stop the run
                doc.failure = Failure(stage=self.name, error=failure_reason(exc))
                self.counters["failed"] += 1
            self.seconds += time.perf_counter() - started
            yield doc


def _import_stage(name: str) -> None:
    """A step named ``x`` lives in module ``abstractpipe.x``; importing it registers the step."""
    if not name.isidentifier():
        return
    try:
        importlib.import_module(f"abstractpipe.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"abstractpipe.{name}":  # a missing dependency inside the stage is a real error
            raise


def build_steps(config: Config) -> list[Step]:
    names = config.data.get("pipeline") or []
    if not isinstance(names, list) or not names:
        raise ConfigError("config key 'pipeline' must be a non-empty list of step names")
    steps = []
    for name in names:
        if name not in STEP_REGISTRY:
            _import_stage(str(name))
        if name not in STEP_REGISTRY:
            known = ", ".join(sorted(STEP_REGISTRY))
            raise ConfigError(f"unknown pipeline step '{name}' (known: {known})")
        steps.append(STEP_REGISTRY[name](config))
    return steps


def run_steps(steps: list[Step], docs: Iterable[Document]) -> Iterator[Document]:
    stream: Iterable[Document] = docs
    for step in steps:
        stream = step(stream)
    yield from stream


def observe_sites(steps: list[Step], make_docs: Callable[[], Iterable[Document]]) -> None:
    """First pass for every site-observing step (documents are not kept)."""
    for index, step in enumerate(steps):
        if not step.observes_site:
            continue
        # The earlier steps run twice; count their work once (the second pass).
        saved = [Counter(s.counters) for s in steps[:index]]
        for doc in run_steps(steps[:index], make_docs()):
            if not doc.failed:
                try:
                    step.observe(doc)
                except Exception:  # the second pass quarantines it with the real reason
                    step.counters["observe_failed"] += 1
        for earlier, counters in zip(steps[:index], saved, strict=True):
            earlier.counters = counters
        step.end_observation()
