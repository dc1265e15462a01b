"""Where shard tasks run: this machine's cores (``local``) or a Dask cluster (``dask``).

An executor takes a picklable, module-level task function and a list of tasks
and yields results as tasks finish (in any order: the runner merges results by
shard number, so the order never reaches the output).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any, Protocol

from abstractpipe.config import ConfigError

log = logging.getLogger("abstractpipe.executors")

EXECUTORS = ("local", "dask")


class Executor(Protocol):
    workers: int

    def start(self) -> None: ...

    def run(
        self,
        function: Callable[[Any], Any],
        tasks: Sequence[Any],
        meanwhile: Callable[[], None] | None = None,
    ) -> Iterator[Any]: ...

    def restart(self) -> None: ...

    def abort(self) -> None: ...

    def close(self) -> None: ...


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _ignore_sigint() -> None:
    # Ctrl-C reaches every process of the terminal's group; only the driver handles it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalExecutor:
    """A process pool on this machine; one worker runs the tasks in this process."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or default_workers())
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Future[Any]] = []

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # fork: workers inherit the steps the driver already built (no second start-up).
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context(method),
                initializer=_ignore_sigint,
            )
        return self._pool

    def start(self) -> None:
        """Start the worker processes now (with fork: they copy this process as it is now)."""
        if self.workers > 1:
            # One task makes the pool launch every worker (all at once under fork).
            self._get_pool().submit(os.getpid).result()

    def run(
        self,
        function: Callable[[Any], Any],
        tasks: Sequence[Any],
        meanwhile: Callable[[], None] | None = None,
    ) -> Iterator[Any]:
        """Yield the results as tasks finish; ``meanwhile`` runs here while the workers work."""
        if self.workers == 1:
            if meanwhile is not None:
                meanwhile()
            for task in tasks:
                yield function(task)
            return
        pool = self._get_pool()
        self._futures = [pool.submit(function, task) for task in tasks]
        if meanwhile is not None:
            # The pool's own thread keeps feeding the workers while this one is busy.
            meanwhile()
        for future in as_completed(self._futures):
            yield future.result()
        self._futures = []

    def restart(self) -> None:
        """New workers, forked from this process as it is now (with what it loaded since the last fork)."""
        if self.workers > 1:
            self.close()
            self.start()

    def abort(self) -> None:
        """Stop at once: pending tasks are dropped, running ones killed (their temp files stay hidden)."""
        for future in self._futures:
            future.cancel()
        if self._pool is not None:
            processes = list((getattr(self._pool, "_processes", None) or {}).values())
            for process in processes:
                process.terminate()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


class DaskExecutor:
    """Tasks on a Dask cluster: the scheduler at ``address``, else a LocalCluster of ``workers`` processes.

    Every worker must see the raw and output folders at the same paths as the driver
    (a shared file system); tasks carry the config with its rule files already loaded.
    """

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise ConfigError(
                "the dask executor needs the dask extra: pip install 'abstractpipe[dask]'"
            ) from exc
        self.cluster = None
        if address:
            self.client = Client(address)
            self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        else:
            self.workers = max(1, workers or default_workers())
            self.cluster = LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            self.client = Client(self.cluster)
        self._futures: list[Any] = []

    def start(self) -> None:
        """The cluster's workers are already running."""

    def restart(self) -> None:
        """Cluster workers are not forked from the driver: each builds its own steps."""

    def run(
        self,
        function: Callable[[Any], Any],
        tasks: Sequence[Any],
        meanwhile: Callable[[], None] | None = None,
    ) -> Iterator[Any]:
        from dask.distributed import as_completed as dask_as_completed

        if not tasks:
            return
        self._futures = self.client.map(function, list(tasks), pure=False)
        if meanwhile is not None:
            meanwhile()
        for _, result in dask_as_completed(self._futures, with_results=True):
            yield result
        self._futures = []

    def abort(self) -> None:
        if self._futures:
            self.client.cancel(self._futures)
        self.close()

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(name: str, workers: int | None = None, address: str | None = None) -> Executor:
    if name == "local":
        if address:
            raise ConfigError("--address is for the dask executor")
        return LocalExecutor(workers)
    if name == "dask":
        return DaskExecutor(workers, address)
    raise ConfigError(f"unknown executor {name!r} (known: {', '.join(EXECUTORS)})")
