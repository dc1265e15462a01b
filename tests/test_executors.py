"""Executors: the local pool's forking, and the dask executor on a real distributed.LocalCluster
giving the local executor's output, byte for byte."""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import shutil
from pathlib import Path

import pytest

from abstractpipe.cli import main
from abstractpipe.executors import LocalExecutor

from .conftest import REPO, SEEDS

needs_dask = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None, reason="the dask extra is not installed"
)
needs_fork = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="workers are forked only where fork exists"
)

# What a forked worker sees of its driver: set by the test in this process before a fork.
LOADED_IN_DRIVER: list[str] = []


def loaded_in_worker(_: int) -> tuple[int, list[str]]:
    return os.getpid(), list(LOADED_IN_DRIVER)


@needs_fork
def test_restart_forks_workers_that_inherit_what_the_driver_loaded_since() -> None:
    executor = LocalExecutor(2)
    LOADED_IN_DRIVER[:] = ["rules"]
    try:
        executor.start()
        LOADED_IN_DRIVER.append("models")  # after the first fork: the running workers lack it
        first = list(executor.run(loaded_in_worker, [1, 2, 3, 4]))
        assert {tuple(seen) for _, seen in first} == {("rules",)}
        executor.restart()
        second = list(executor.run(loaded_in_worker, [1, 2, 3, 4]))
        assert {tuple(seen) for _, seen in second} == {("rules", "models")}
        assert not {pid for pid, _ in first} & {pid for pid, _ in second}  # new processes
        assert os.getpid() not in {pid for pid, _ in first + second}
    finally:
        executor.close()
        LOADED_IN_DRIVER.clear()


@pytest.mark.parametrize("workers", [1, 2])
def test_meanwhile_runs_once_before_the_first_result_is_handed_back(workers: int) -> None:
    executor = LocalExecutor(workers)
    calls: list[str] = []
    try:
        results = executor.run(loaded_in_worker, [1, 2, 3], meanwhile=lambda: calls.append("warm"))
        assert calls == []  # nothing happens before the results are asked for
        first = next(results)
        assert calls == ["warm"]
        assert len([first, *results]) == 3
        assert calls == ["warm"]
    finally:
        executor.close()


def output_bytes(out: Path) -> dict[str, bytes]:
    files = {f"records/{p.name}": p.read_bytes() for p in sorted((out / "records").glob("part-*"))}
    for name in ["quarantine.jsonl", "stats.json", "run.json"]:
        files[name] = (out / name).read_bytes()
    return files


@needs_dask
def test_dask_local_cluster_gives_the_local_records(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(REPO / "raw", raw)
    shutil.copytree(SEEDS, raw / "seeds")
    (raw / "broken").mkdir()
    (raw / "broken" / "empty.txt").write_bytes(b"")
    common = ["--raw", str(raw), "--set", "run.shards=4", "--no-progress", "--log-level", "WARNING"]
    local, dask = tmp_path / "local", tmp_path / "dask"
    assert main(["run", *common, "--out", str(local), "--workers", "1"]) == 1
    assert main(["run", *common, "--out", str(dask), "--executor", "dask", "--workers", "2"]) == 1
    assert output_bytes(dask) == output_bytes(local)
    assert main(["validate", str(dask)]) == 0
    # resumed on dask: every shard is complete, nothing is redone
    assert main(["run", *common, "--out", str(dask), "--executor", "dask", "--workers", "1"]) == 1
    assert output_bytes(dask) == output_bytes(local)


def test_address_needs_the_dask_executor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--raw", str(REPO / "raw"), "--out", str(tmp_path), "--address", "tcp://x:8786"])
    assert code == 2
    assert "--address is for the dask executor" in capsys.readouterr().err
