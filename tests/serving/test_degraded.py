"""The registry going away after start: the service keeps serving what it loaded and says it is degraded."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from serving.app import create_app
from tests.stack import Stack, copy_home, line

pytestmark = pytest.mark.slow


def start_tracking_server(db: Path, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{db}"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the MLflow tracking server did not start")


def test_registry_down_after_start_degrades_but_keeps_serving(tmp_path: Path, stack: Stack) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = copy_home(stack, tmp_path / "home")
    server = start_tracking_server(settings.home / "mlflow.db", port)
    remote = settings.model_copy(update={"mlflow_tracking_uri": f"http://127.0.0.1:{port}"})
    try:
        with TestClient(create_app(remote)) as client:
            ready = client.get("/ready").json()
            assert ready["status"] == "ready"
            assert ready["registry_reachable"] is True
            server.terminate()
            server.wait(timeout=30)
            # Readiness reflects a check at most a few seconds old; it never blocks on a dead registry.
            deadline = time.monotonic() + 30
            ready = client.get("/ready")
            while ready.json()["status"] != "degraded" and time.monotonic() < deadline:
                time.sleep(0.5)
                ready = client.get("/ready")
            assert ready.status_code == 200
            assert ready.json()["status"] == "degraded"
            assert ready.json()["registry_reachable"] is False
            assert any("unreachable" in p for p in ready.json()["problems"])
            scored = client.post(
                "/v1/order-lines/score", json={"lines": [line(stack)]}, headers=stack.headers()
            )
            assert scored.status_code == 200
            assert scored.json()["model"]["version"] == "1"
            assert client.get("/v1/suppliers", headers=stack.headers()).status_code == 200
            reload = client.post("/v1/admin/reload", headers=stack.headers("admin"))
            assert reload.status_code == 503
            assert "still serving" in reload.json()["detail"]
            assert client.get("/ready").json()["models"] == {"otd": "1", "disruption": "1"}
    finally:
        if server.poll() is None:
            server.kill()


def test_registry_down_at_start_serves_the_batch_and_reports_not_ready(tmp_path: Path, stack: Stack) -> None:
    settings = copy_home(stack, tmp_path / "home").model_copy(
        update={"mlflow_tracking_uri": "http://127.0.0.1:9/"}
    )
    with TestClient(create_app(settings)) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert ready.json()["registry_reachable"] is False
        assert client.get("/v1/suppliers", headers=stack.headers()).status_code == 200
        scored = client.post("/v1/order-lines/score", json={"lines": [line(stack)]}, headers=stack.headers())
        assert scored.status_code == 503
