"""The fault suite's tools: the service as its own process, a load from another, figures per case."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from supplierrisk.settings import Settings

REPORT_VARIABLE = "SUPPLIERRISK_RELIABILITY_REPORT"
# One request of the load: connection "c", start "t", latency "ms", "status" (0: no answer), "otd" version.
Record = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]


def environment(settings: Settings, poll_seconds: float) -> dict[str, str]:
    """The service's settings as the environment a scheduler would give it."""
    return {
        **os.environ,
        "SUPPLIERRISK_HOME": str(settings.home),
        "SUPPLIERRISK_MLFLOW_TRACKING_URI": settings.tracking_uri,
        "SUPPLIERRISK_MLFLOW_ARTIFACT_ROOT": settings.artifact_root,
        "SUPPLIERRISK_RESULTS_DB_URL": settings.results_url,
        "SUPPLIERRISK_API_POLL_SECONDS": str(poll_seconds),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
    }


def cli(*args: str) -> list[str]:
    """The ``supplierrisk`` command, run by this interpreter."""
    return [sys.executable, "-c", "from pipelines.cli import main; main()", *args]


@dataclass
class Server:
    """A running ``supplierrisk serve``."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def ready(self) -> dict[str, object]:
        return dict(httpx.get(f"{self.url}/ready", timeout=10).json())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(settings: Settings, log: Path, poll_seconds: float = 1.0, workers: int = 1) -> Iterator[Server]:
    """``supplierrisk serve`` in its own process until the block ends; waits for /ready to answer."""
    port = _free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            cli("serve", "--port", str(port), "--workers", str(workers)),
            env=environment(settings, poll_seconds),
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_for(lambda: _answers(server), 120, f"the service to answer (log {log})")
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(server: Server) -> bool:
    if server.process.poll() is not None:
        raise AssertionError(f"the service exited: {server.log.read_text(errors='replace')[-2000:]}")
    try:
        return httpx.get(f"{server.url}/ready", timeout=5).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Poll ``condition()`` every 0.5 s until it is true; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


class Load:
    """One-line scoring requests from a second process (``tests.reliability.load``)."""

    def __init__(
        self, url: str, key: str, body: dict[str, object], folder: Path, connections: int = 2
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.out, self.stop_file = folder / "load.json", folder / "stop"
        (folder / "body.json").write_text(json.dumps(body), encoding="utf-8")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.load",
                url,
                key,
                str(folder / "body.json"),
                str(self.out),
            ]
            + [str(self.stop_file), "--seconds", "240", "--connections", str(connections)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"},
        )

    def stop(self) -> list[Record]:
        """Stop the stream; every request it made, in start order."""
        self.stop_file.touch()
        self.process.wait(timeout=60)
        return list(json.loads(self.out.read_text(encoding="utf-8")))


def p99(records: list[Record]) -> float:
    """The 99th percentile latency (ms) of ``records``."""
    assert records, "no request in the window"
    return float(np.percentile([float(r["ms"]) for r in records], 99))


def non_2xx(records: list[Record]) -> int:
    """Requests that got no 2xx answer (no answer at all included)."""
    return sum(1 for r in records if not 200 <= int(r["status"]) < 300)


def report(case: str, **figures: object) -> None:
    """Print the case's figures (and append them to the report file when one is named)."""
    line = {"case": case, **figures}
    print(f"reliability {json.dumps(line)}")  # noqa: T201 - the suite's figures, read with -s
    target = os.environ.get(REPORT_VARIABLE)
    if target:
        with Path(target).open("a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
