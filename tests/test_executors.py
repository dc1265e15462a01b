"""The dask executor on a real distributed.LocalCluster gives the local executor's output, byte for byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from abstractpipe.cli import main

from .conftest import REPO, SEEDS

pytest.importorskip("distributed", reason="the dask extra is not installed")


def output_bytes(out: Path) -> dict[str, bytes]:
    files = {f"records/{p.name}": p.read_bytes() for p in sorted((out / "records").glob("part-*"))}
    for name in ["quarantine.jsonl", "stats.json", "run.json"]:
        files[name] = (out / name).read_bytes()
    return files


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
