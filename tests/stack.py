"""A real stack for the API and reliability tests, built once per session: store, champions, a batch, keys.

A plugin of the root conftest (``pytest_plugins``), so every test folder shares the one stack.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipelines.score import run_score
from pipelines.train import run_train
from serving.app import create_app
from supplierrisk.features import latest_day
from supplierrisk.service.apikeys import create_key
from supplierrisk.settings import Settings
from supplierrisk.storage import write_parquet
from supplierrisk.synth import SynthConfig, generate_history
from supplierrisk.tracking import CHAMPION, MODEL_NAMES, connect, promote, version_for_alias
from tests.small_models import SMALL_DISRUPTION, SMALL_OTD


@dataclass(frozen=True)
class Stack:
    """The session's data home and its keys."""

    settings: Settings
    history: pd.DataFrame
    viewer: str
    admin: str

    def headers(self, role: str = "viewer") -> dict[str, str]:
        return {"X-API-Key": self.viewer if role == "viewer" else self.admin}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, new_home: Callable[[], Path]) -> Stack:
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    root = tmp_path_factory.mktemp("api")
    settings = Settings(home=new_home(), api_poll_seconds=0)
    history = generate_history(SynthConfig(suppliers=60, years=3.0, seed=21)).history
    write_parquet(history, settings.store_path)
    configs = {"otd": root / "otd.yaml", "disruption": root / "disruption.yaml"}
    configs["otd"].write_text(SMALL_OTD, encoding="utf-8")
    configs["disruption"].write_text(SMALL_DISRUPTION, encoding="utf-8")
    client = connect(settings)
    for kind in ("otd", "disruption"):
        report = run_train(settings, kind, None, configs[kind])
        # The API tests need champions whatever the gate said; the gate has tests of its own.
        if version_for_alias(client, MODEL_NAMES[kind], CHAMPION) is None:
            promote(client, MODEL_NAMES[kind], report.version, "API test fixture")
    run_score(settings, latest_day(history))
    viewer, _ = create_key(settings.keys_path, "viewer", "test-viewer")
    admin, _ = create_key(settings.keys_path, "admin", "test-admin")
    return Stack(settings, history, viewer, admin)


@pytest.fixture(scope="session")
def api(stack: Stack) -> Iterator[TestClient]:
    """One app for the read-only tests (tests that change the registry build their own)."""
    with TestClient(create_app(stack.settings)) as client:
        yield client


def line(stack: Stack, **changes: object) -> dict[str, object]:
    """A valid request line for a supplier of the stack's history."""
    return request_line(stack.history, **changes)


def request_line(history: pd.DataFrame, **changes: object) -> dict[str, object]:
    """A valid request line for the last line's supplier of ``history``."""
    row = history.iloc[-1]
    body: dict[str, object] = {
        "po_id": "PO-TEST-1",
        "line_id": "1",
        "supplier_id": str(row["supplier_id"]),
        "order_date": "2024-12-01",
        "promised_date": "2025-01-20",
        "category": str(row["category"]),
        "ship_mode": str(row["ship_mode"]),
        "quantity_ordered": 100.0,
        "unit_price": 3.5,
    }
    body.update(changes)
    return body


def copy_home(stack: Stack, target: Path) -> Settings:
    """A private copy of the session's home, for tests that promote, reload or break things."""
    import shutil

    shutil.copytree(stack.settings.home, target)
    db = target / "mlflow.db"
    return Settings(
        home=target,
        api_poll_seconds=0,
        mlflow_tracking_uri=f"sqlite:///{db}",
        mlflow_artifact_root=stack.settings.artifact_root,
    )


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn server in a thread; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code in (200, 503):
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def new_otd_version(settings: Settings) -> str:
    """Register the champion's artifacts again as a new version (a real registry write, no training)."""
    client = connect(settings)
    current = version_for_alias(client, MODEL_NAMES["otd"], CHAMPION)
    assert current is not None
    made = client.create_model_version(MODEL_NAMES["otd"], current.source, run_id=current.run_id)
    return str(made.version)
