from __future__ import annotations

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
