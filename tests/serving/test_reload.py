"""Hot reload: promotions and new batches are picked up; concurrent requests never fail or mix versions."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pytest

from pipelines.score import run_score
from serving.app import create_app
from supplierrisk.tracking import MODEL_NAMES, connect, promote
from tests.stack import Stack, copy_home, line, new_otd_version, running

pytestmark = pytest.mark.slow


def test_reload_under_concurrent_requests_never_fails_or_mixes_versions(tmp_path: Path, stack: Stack) -> None:
    settings = copy_home(stack, tmp_path / "home")
    version = new_otd_version(settings)
    with running(create_app(settings)) as url:
        stop = threading.Event()

        def hammer(kind: str) -> list[tuple[int, str, str]]:
            seen = []
            with httpx.Client(base_url=url, headers=stack.headers(), timeout=30) as client:
                while not stop.is_set():
                    if kind == "score":
                        r = client.post("/v1/order-lines/score", json={"lines": [line(stack)] * 20})
                        body_version = r.json()["model"]["version"] if r.status_code == 200 else ""
                    else:
                        r = client.get("/v1/suppliers?limit=5")
                        body_version = r.json()["models"]["otd"] if r.status_code == 200 else ""
                    header = dict(
                        x.split("=") for x in r.headers.get("X-Model-Versions", "").split(", ") if x
                    )
                    seen.append((r.status_code, body_version, header.get("otd", "")))
            return seen

        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(hammer, "score" if i % 2 else "suppliers") for i in range(6)]
            time.sleep(0.5)
            promote(connect(settings), MODEL_NAMES["otd"], version, "reload test")
            reloads = []
            for _ in range(3):
                with httpx.Client(base_url=url, headers=stack.headers("admin"), timeout=60) as admin:
                    reloads.append(admin.post("/v1/admin/reload"))
            time.sleep(0.5)
            stop.set()
            seen = [x for f in futures for x in f.result()]
    assert all(r.status_code == 200 for r in reloads)
    assert reloads[0].json()["models"]["otd"] == version
    assert len(seen) > 20
    assert {status for status, _, _ in seen} == {200}
    # Each response names one version in its body and header, and both agree.
    assert all(body == header for _, body, header in seen)
    assert {body for _, body, _ in seen} == {"1", version}


def test_the_service_notices_a_promotion_and_a_new_batch_by_itself(tmp_path: Path, stack: Stack) -> None:
    settings = copy_home(stack, tmp_path / "home").model_copy(update={"api_poll_seconds": 0.3})
    version = new_otd_version(settings)
    with running(create_app(settings)) as url:
        headers = stack.headers()
        assert httpx.get(f"{url}/ready").json()["models"]["otd"] == "1"
        promote(connect(settings), MODEL_NAMES["otd"], version, "poll test")
        report = run_score(settings, stack.history["order_date"].max() - pd.Timedelta(days=30))
        deadline = time.monotonic() + 60
        ready = {}
        while time.monotonic() < deadline:
            ready = httpx.get(f"{url}/ready").json()
            if ready["models"]["otd"] == version and ready["batch"]["batch_id"] == report.batch_id:
                break
            time.sleep(0.2)
        assert ready["models"]["otd"] == version
        assert ready["batch"]["batch_id"] == report.batch_id
        assert (
            httpx.get(f"{url}/v1/suppliers", headers=headers).json()["batch"]["batch_id"] == report.batch_id
        )


def test_a_loaded_deployment_is_frozen_out_of_the_collectors_sight(stack: Stack) -> None:
    """Full collections would rescan every object of the deployment, pausing requests for ~150 ms."""
    import gc

    from serving.state import DeploymentHolder

    gc.unfreeze()
    try:
        holder = DeploymentHolder(stack.settings)
        holder.start()
        assert holder.current is not None
        assert gc.get_freeze_count() > 10_000  # the deployment's objects, not just a handful
        holder.reload()
        assert gc.get_freeze_count() > 10_000
        assert len(gc.get_objects(generation=2)) < gc.get_freeze_count()
    finally:
        gc.unfreeze()
