"""Shared fixtures: an isolated data home per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from supplierrisk.settings import Settings

# On the CI machine (2 vCPUs) a second OpenMP thread per fit makes the suite slower, not faster: the
# many small LightGBM fits and numpy calls of the tests pay more in thread start-up and spinning.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data home, also set in the environment for CLI calls."""
    path = tmp_path / "home"
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(path))
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    """Settings pointing at the fresh data home."""
    return Settings(home=home)
