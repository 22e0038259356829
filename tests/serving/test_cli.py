"""The `supplierrisk keys` and `supplierrisk serve` commands."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from supplierrisk.service.apikeys import hash_key
from tests.stack import Stack, copy_home


def test_keys_create_shows_the_key_once_and_stores_only_its_hash(home: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "--role", "viewer", "--name", "bi-dashboard"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    assert key.startswith("sr_")
    assert len(key) > 40
    stored = (home / "api_keys.json").read_text(encoding="utf-8")
    assert key not in stored
    assert json.loads(stored)["keys"][0] == {
        "name": "bi-dashboard",
        "role": "viewer",
        "sha256": hash_key(key),
        "created_at": json.loads(stored)["keys"][0]["created_at"],
    }
    assert oct((home / "api_keys.json").stat().st_mode & 0o777) == "0o600"
    listed = runner.invoke(app, ["keys", "list"])
    assert "bi-dashboard\tviewer" in listed.stdout
    assert key not in listed.stdout
    assert runner.invoke(app, ["keys", "create", "--role", "admin"]).exit_code == 0
    assert "admin-2\tadmin" in runner.invoke(app, ["keys", "list"]).stdout
    assert runner.invoke(app, ["keys", "revoke", "bi-dashboard"]).exit_code == 0
    assert "bi-dashboard" not in runner.invoke(app, ["keys", "list"]).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["keys", "create", "--role", "root"], "role must be one of viewer, admin"),
        (["keys", "create", "--role", "viewer", "--name", "bad name!"], "key name 'bad name!'"),
        (["keys", "revoke", "nobody"], "no key named 'nobody'"),
    ],
)
def test_keys_errors_are_one_line_and_exit_2(home: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_keys_file_pointed_elsewhere_by_the_environment(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "secrets" / "keys.json"
    monkeypatch.setenv("SUPPLIERRISK_API_KEYS_FILE", str(elsewhere))
    assert CliRunner().invoke(app, ["keys", "create", "--role", "admin", "--name", "ops"]).exit_code == 0
    assert "ops" in elsewhere.read_text(encoding="utf-8")
    assert not (home / "api_keys.json").exists()


@pytest.mark.slow
def test_serve_starts_uvicorn_with_the_models_and_batch(tmp_path: Path, stack: Stack) -> None:
    settings = copy_home(stack, tmp_path / "home")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {
        "SUPPLIERRISK_HOME": str(settings.home),
        "SUPPLIERRISK_MLFLOW_TRACKING_URI": settings.tracking_uri,
        "SUPPLIERRISK_MLFLOW_ARTIFACT_ROOT": settings.artifact_root,
    }
    command = [sys.executable, "-c", "from pipelines.cli import main; main()", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + 90
        ready = None
        while time.monotonic() < deadline and ready is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.3)
        assert ready is not None
        assert ready.status_code == 200, ready.text
        assert ready.json()["models"] == {"otd": "1", "disruption": "1"}
        assert httpx.get(f"http://127.0.0.1:{port}/v1/suppliers").status_code == 401
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/suppliers", headers=stack.headers())
        assert listed.status_code == 200
        assert listed.json()["total"] > 0
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert stack.viewer not in output
