"""Backing services failing under the service and the batch: the registry, the results database, the disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

from pipelines.cli_support import EXIT_CANNOT_WRITE, EXIT_RESULTS_DB_UNAVAILABLE
from pipelines.score import run_score
from pipelines.train import run_train
from supplierrisk.batch import folders, results
from supplierrisk.features import latest_day
from supplierrisk.settings import Settings
from supplierrisk.storage import write_parquet
from supplierrisk.tracking import CHAMPION, MODEL_NAMES, connect, promote, version_for_alias
from tests import postgres
from tests.reliability.conftest import Load, cli, environment, non_2xx, report, serving, wait_for
from tests.small_models import SMALL_DISRUPTION, SMALL_OTD
from tests.stack import Stack, copy_home, line


@dataclass
class Backed:
    """A home whose registry and results database are two PostgreSQL servers the tests may stop."""

    settings: Settings
    registry: postgres.PostgresServer
    results: postgres.PostgresServer
    first_batch: str


def _servers() -> tuple[postgres.PostgresServer, postgres.PostgresServer]:
    try:
        return postgres.PostgresServer(), postgres.PostgresServer()
    except (postgres.PostgresUnavailableError, OSError) as exc:
        if postgres.required():
            pytest.fail(f"PostgreSQL is required here ({postgres.REQUIRE_VARIABLE}=1) but: {exc}")
        pytest.skip(f"no PostgreSQL server can be started: {exc}")


@pytest.fixture(scope="module")
def backed(
    stack: Stack, new_home: Callable[[], Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backed]:
    registry, database = _servers()
    home = new_home()
    (home / "mlflow.db").unlink()
    settings = Settings(
        home=home,
        api_poll_seconds=0,
        mlflow_tracking_uri=postgres.create_database(registry.url),
        results_db_url=postgres.create_database(database.url),
    )
    write_parquet(stack.history, settings.store_path)
    shutil.copy(stack.settings.keys_path, settings.keys_path)
    configs = tmp_path_factory.mktemp("configs")
    client = connect(settings)
    for kind, text in (("otd", SMALL_OTD), ("disruption", SMALL_DISRUPTION)):
        (configs / f"{kind}.yaml").write_text(text, encoding="utf-8")
        trained = run_train(settings, kind, None, configs / f"{kind}.yaml")
        if version_for_alias(client, MODEL_NAMES[kind], CHAMPION) is None:
            promote(client, MODEL_NAMES[kind], trained.version, "reliability fixture")
    first = run_score(settings, latest_day(stack.history) - pd.Timedelta(days=7))
    try:
        yield Backed(settings, registry, database, first.batch_id)
    finally:
        registry.close()
        database.close()


def _status(server_url: str) -> str:
    return str(httpx.get(f"{server_url}/ready", timeout=10).json()["status"])


def test_registry_down_under_traffic_degrades_and_recovers_by_itself(
    backed: Backed, stack: Stack, tmp_path: Path
) -> None:
    """Guarantee: 0 non-2xx while MLflow's database is down; /ready degraded, then ready again unaided."""
    with serving(backed.settings, tmp_path / "serve.log", poll_seconds=1.0) as server:
        load = Load(server.url, stack.viewer, {"lines": [line(stack)]}, tmp_path / "load")
        time.sleep(3)
        backed.registry.stop()
        try:
            wait_for(lambda: _status(server.url) == "degraded", 30, "/ready to say degraded")
            degraded = server.ready()
            time.sleep(3)
        finally:
            backed.registry.start()
        back = time.monotonic()
        wait_for(lambda: _status(server.url) == "ready", 60, "the service to recover by itself")
        recovered_seconds = time.monotonic() - back
        time.sleep(1)
        records = load.stop()
    report(
        "registry down under traffic",
        requests=len(records),
        non_2xx=non_2xx(records),
        versions_served=sorted({str(r["otd"]) for r in records}),
        seconds_to_recover=round(recovered_seconds, 1),
    )
    assert non_2xx(records) == 0
    assert len({str(r["otd"]) for r in records}) == 1
    assert any("registry unreachable" in p for p in degraded["problems"])


def test_registry_down_at_start_recovers_by_itself_with_polling_off(
    backed: Backed, stack: Stack, tmp_path: Path
) -> None:
    """Guarantee: started without the registry, it serves the batch, then loads the models unaided."""
    backed.registry.stop()
    try:
        with serving(backed.settings, tmp_path / "serve.log", poll_seconds=0) as server:
            first = server.ready()
            scored_down = httpx.post(
                f"{server.url}/v1/order-lines/score",
                json={"lines": [line(stack)]},
                headers=stack.headers(),
                timeout=30,
            )
            backed.registry.start()
            back = time.monotonic()
            wait_for(
                lambda: _status(server.url) == "ready", 60, "the models to load once the registry is back"
            )
            recovered_seconds = time.monotonic() - back
            scored_up = httpx.post(
                f"{server.url}/v1/order-lines/score",
                json={"lines": [line(stack)]},
                headers=stack.headers(),
                timeout=30,
            )
    finally:
        backed.registry.start()  # a no-op when it is already running
    report("registry down at start (polling off)", seconds_to_recover=round(recovered_seconds, 1))
    assert first["status"] == "not_ready"
    assert first["batch"] is not None  # the batch alone is served meanwhile
    assert scored_down.status_code == 503
    assert scored_up.status_code == 200


def test_results_database_down_during_a_batch(backed: Backed, tmp_path: Path) -> None:
    """Guarantee: exit 10 in one line; LATEST and the API keep the last good batch; the rerun publishes."""
    settings = backed.settings
    env = environment(settings, 1.0)
    with serving(settings, tmp_path / "serve.log", poll_seconds=1.0) as server:
        before = folders.latest_batch(settings.batches_dir)
        assert before is not None
        backed.results.stop()
        try:
            failed = subprocess.run(
                cli("score"), env=env, capture_output=True, text=True, timeout=600, check=False
            )
            time.sleep(2)
            served_meanwhile = server.ready()["batch"]
        finally:
            backed.results.start()
        stored_ids = _batch_ids(settings.results_url)
        latest_after_failure = folders.latest_batch(settings.batches_dir)
        rerun = subprocess.run(
            cli("score"), env=env, capture_output=True, text=True, timeout=600, check=False
        )
        new = folders.latest_batch(settings.batches_dir)
        assert new is not None
        wait_for(
            lambda: server.ready()["batch"]["batch_id"] == new.name, 30, "the API to serve the new batch"
        )
    errors = [x for x in failed.stderr.splitlines() if x.startswith("error:")]
    report(
        "results database down during a batch", exit_code=failed.returncode, rerun_exit_code=rerun.returncode
    )
    assert failed.returncode == EXIT_RESULTS_DB_UNAVAILABLE, failed.stderr
    assert len(errors) == 1
    assert errors[0].startswith("error: results database postgresql+psycopg://")
    assert latest_after_failure == before
    assert served_meanwhile["batch_id"] == before.name
    assert stored_ids == {backed.first_batch}  # nothing of the failed batch is in the database
    assert rerun.returncode == 0, rerun.stderr
    assert new != before
    assert results.latest_batch_id(settings.results_url) == new.name


def _batch_ids(url: str) -> set[str]:
    with results.transaction(url, write=False) as conn:
        return {str(x) for x in conn.execute(sa.text("SELECT batch_id FROM batches")).scalars()}


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MB tmpfs mounted for the test (root only)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_during_publish_keeps_the_previous_batch_and_store(stack: Stack, small_disk: Path) -> None:
    """Guarantee: exit 11 in one line; the previous batch and the store are intact and readable."""
    settings = copy_home(stack, small_disk / "home")
    previous = folders.latest_batch(settings.batches_dir)
    assert previous is not None
    before = {
        "batch": _digest(previous),
        "store": hashlib.sha256(settings.store_path.read_bytes()).hexdigest(),
    }
    free = shutil.disk_usage(small_disk).free
    filler = small_disk / "filler"
    with filler.open("wb") as out:  # leave 32 KB: too little for a batch's files
        out.truncate(0)
        out.write(b"\0" * (free - 32 * 1024))
    env = environment(settings, 0)
    as_of = (latest_day(stack.history) - pd.Timedelta(days=3)).date().isoformat()
    failed = subprocess.run(
        cli("score", "--as-of", as_of), env=env, capture_output=True, text=True, timeout=600, check=False
    )
    after = {
        "batch": _digest(previous),
        "store": hashlib.sha256(settings.store_path.read_bytes()).hexdigest(),
    }
    latest = folders.latest_batch(settings.batches_dir)
    filler.unlink()
    rerun = subprocess.run(
        cli("score", "--as-of", as_of), env=env, capture_output=True, text=True, timeout=600, check=False
    )
    errors = [x for x in failed.stderr.splitlines() if x.startswith("error:")]
    report("disk full during publish", exit_code=failed.returncode, rerun_exit_code=rerun.returncode)
    assert failed.returncode == EXIT_CANNOT_WRITE, failed.stderr[-2000:]
    assert len(errors) == 1
    assert "No space left on device" in errors[0]
    assert after == before
    assert latest == previous
    assert pd.read_parquet(previous / "suppliers.parquet").shape[0] > 0
    assert rerun.returncode == 0, rerun.stderr[-2000:]
