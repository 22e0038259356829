"""Shared fixtures: an isolated data home per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from supplierrisk.settings import Settings


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
