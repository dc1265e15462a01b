from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEEDS = REPO / "tests" / "fixtures" / "seeds"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def default_config_path() -> Path:
    return REPO / "configs" / "default.yaml"


requires_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared (evaluation data) is absent")


def run_in_memory(raw_root: Path) -> list:
    """Every page under ``raw_root`` through the default pipeline's steps, in memory (no writer)."""
    from abstractpipe.config import load_config
    from abstractpipe.ingest import discover_inputs
    from abstractpipe.pipeline import build_steps, observe_sites, run_steps

    steps = build_steps(load_config(REPO / "configs" / "default.yaml"))
    observe_sites(steps, lambda: discover_inputs(raw_root))
    return list(run_steps(steps, discover_inputs(raw_root)))


def random_texts(pieces: Sequence[str], count: int, *, seed: int, fewest: int, most: int) -> list[str]:
    """``count`` reproducible texts of ``fewest`` to ``most`` pieces each: tricky inputs on which
    a fast path must agree with its general one."""
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(fewest, most))) for _ in range(count)]
