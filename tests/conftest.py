"""Shared fixtures: an isolated data home per test, each with a real, empty MLflow store."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from supplierrisk.settings import Settings
from supplierrisk.tracking import connect
from tests import postgres

# The API stack's fixtures (stack, api), shared by tests/serving and tests/reliability.
pytest_plugins = ("tests.stack",)

# On the CI machine (2 vCPUs) a second OpenMP thread per fit makes the suite slower, not faster: the
# many small LightGBM fits and numpy calls of the tests pay more in thread start-up and spinning.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store, created once: each new one costs seconds of schema migrations."""
    home = tmp_path_factory.mktemp("mlflow-template")
    connect(Settings(home=home))
    return home / "mlflow.db"


def _seeded(path: Path, template: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, path / "mlflow.db")
    return path


@pytest.fixture(scope="session")
def new_home(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> Callable[[], Path]:
    """Makes fresh data homes for module-scoped fixtures (each with its own copy of the empty store)."""
    return lambda: _seeded(tmp_path_factory.mktemp("home"), mlflow_template)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_template: Path) -> Path:
    """A fresh data home, also set in the environment for CLI calls."""
    path = _seeded(tmp_path / "home", mlflow_template)
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(path))
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    """Settings pointing at the fresh data home."""
    return Settings(home=home)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL server for the session: the one named in the environment, or a throwaway one."""
    given = os.environ.get(postgres.URL_VARIABLE)
    if given:
        yield given
        return
    try:
        server = postgres.PostgresServer()
    except (postgres.PostgresUnavailableError, OSError) as exc:
        if postgres.required():
            pytest.fail(f"PostgreSQL is required here ({postgres.REQUIRE_VARIABLE}=1) but: {exc}")
        pytest.skip(f"no PostgreSQL server can be started: {exc}")
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return postgres.create_database(postgres_admin_url)
