"""The nightly batch end to end on SCMS with real champions: publish, idempotency, crash, lock, exit codes."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.ingest import run_ingest
from pipelines.score import run_score
from pipelines.train import run_train
from supplierrisk.batch import folders, results
from supplierrisk.ingest import get_preset
from supplierrisk.settings import Settings

AS_OF = pd.Timestamp("2015-06-01")


@pytest.fixture(scope="module")
def home(new_home: Callable[[], Path]) -> Path:
    """A data home with the SCMS store and champions of both models."""
    path = new_home()
    settings = Settings(home=path)
    source = get_preset("scms").bundled_path()
    assert source is not None
    run_ingest(source, settings, preset="scms")
    for kind in ("otd", "disruption"):
        report = run_train(settings, kind, pd.Timestamp("2015-09-14"), None)
        assert report.decision.promote, report.decision.summary()
    return path


def hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}


def test_batch_is_published_complete_and_consistent(home: Path) -> None:
    settings = Settings(home=home)
    report = run_score(settings, AS_OF)
    folder = report.folder
    assert folders.latest_batch(settings.batches_dir) == folder
    assert results.latest_batch_id(settings.results_url) == report.batch_id
    m = report.manifest
    # Every store row is either scored or skipped for one stated reason.
    assert m["rows_read"] == 10183
    assert m["rows_scored"]["open_lines"] + sum(m["rows_skipped"].values()) == m["rows_read"]
    assert m["models"]["otd"]["version"]
    assert m["models"]["disruption"]["version"]
    assert len(m["data"]["sha256"]) == 64
    lines = pd.read_parquet(folder / "open_lines.parquet")
    assert lines["p_late"].between(0, 1).all()
    assert (lines["promised_date"] >= AS_OF).all()
    suppliers = pd.read_parquet(folder / "suppliers.parquet")
    assert suppliers["p_disruption"].is_monotonic_decreasing
    assert suppliers["driver_1"].notna().all()
    # Expected late share of a supplier's open lines is the mean p_late of those lines (none: empty).
    with_open = suppliers["supplier_id"].isin(lines["supplier_id"])
    top = suppliers.loc[with_open].iloc[0]
    own = lines.loc[lines["supplier_id"] == top["supplier_id"], "p_late"]
    assert top["expected_late_share_open"] == pytest.approx(own.mean())
    assert suppliers.loc[~with_open, "expected_late_share_open"].isna().all()
    categories = pd.read_parquet(folder / "categories.parquet")
    arv = categories.set_index("category").loc["ARV"]
    assert arv["open_lines_scored"] == (lines["category"] == "ARV").sum()
    stored = results.read_table(settings.results_url, "suppliers", report.batch_id)
    assert stored["supplier_id"].tolist() == suppliers["supplier_id"].tolist()
    assert m["files_sha256"] == hashes(folder)


def test_rerun_is_identical_and_adds_no_rows(home: Path) -> None:
    settings = Settings(home=home)
    first = run_score(settings, AS_OF)
    before = {t: results.count_rows(settings.results_url, t) for t in ("open_lines", "suppliers")}
    files = hashes(first.folder)
    again = run_score(settings, AS_OF)
    assert again.batch_id == first.batch_id
    assert not again.published
    assert hashes(again.folder) == files
    assert {t: results.count_rows(settings.results_url, t) for t in before} == before


# A batch run that stops at a stage until it is killed: the crash-test hook is injected, not configured.
PAUSING_BATCH = """
import sys, time
from pathlib import Path
import pandas as pd
from pipelines.score import run_score
from supplierrisk.settings import Settings
stage, marker, day = sys.argv[1:]
def pause(reached):
    if reached == stage:
        Path(marker).write_text(stage, encoding="utf-8")
        time.sleep(600)
run_score(Settings(), pd.Timestamp(day), pause=pause)
"""


def _start_batch(home: Path, as_of: str, pause_after: str, marker: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, SUPPLIERRISK_HOME=str(home))
    command = [sys.executable, "-c", PAUSING_BATCH, pause_after, str(marker), as_of]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def _wait_for(marker: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, "the batch ended before reaching the pause point"
        assert time.monotonic() < deadline, "the batch never reached the pause point"
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("stage", "day"), [("files", "2015-07-01"), ("publish", "2015-07-08"), ("database", "2015-07-15")]
)
def test_a_killed_batch_leaves_the_previous_one_as_latest(
    home: Path, tmp_path: Path, stage: str, day: str
) -> None:
    settings = Settings(home=home)
    previous = run_score(settings, AS_OF)
    marker = tmp_path / "paused"
    process = _start_batch(home, day, stage, marker)
    _wait_for(marker, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert folders.latest_batch(settings.batches_dir) == previous.folder
    assert results.latest_batch_id(settings.results_url) == previous.batch_id
    assert hashes(previous.folder) == previous.manifest["files_sha256"]
    # The killed run held the lock only while alive: the next batch runs, cleans up and publishes.
    after = run_score(settings, pd.Timestamp(day))
    assert folders.latest_batch(settings.batches_dir) == after.folder
    assert not [p for p in settings.batches_dir.iterdir() if p.name.startswith((".tmp-", ".old-"))]
    run_score(settings, AS_OF)  # leave the June batch as latest for the other tests


def test_exit_codes(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(home))
    with folders.batch_lock(Settings(home=home).batches_dir):
        locked = runner.invoke(app, ["score", "--as-of", "2015-06-01"])
    assert locked.exit_code == 6
    assert "another batch is running" in locked.output
    outside = runner.invoke(app, ["score", "--as-of", "2030-01-01"])
    assert outside.exit_code == 5
    assert "after the store's last known day (2015-09-14)" in outside.output
    before = runner.invoke(app, ["score", "--as-of", "2001-01-01"])
    assert before.exit_code == 5
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(tmp_path / "empty"))
    empty = runner.invoke(app, ["score", "--as-of", "2015-06-01"])
    assert empty.exit_code == 4
    # A store but no models yet.
    fresh = Settings(home=tmp_path / "fresh")
    source = get_preset("scms").bundled_path()
    assert source is not None
    run_ingest(source, fresh, preset="scms")
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(fresh.home))
    missing = runner.invoke(app, ["score", "--as-of", "2015-06-01"])
    assert missing.exit_code == 3
    assert "has no 'champion' version" in missing.output
    monkeypatch.setenv("SUPPLIERRISK_MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    unreachable = runner.invoke(app, ["score", "--as-of", "2015-06-01"])
    assert unreachable.exit_code == 7


def test_retention_keeps_the_last_batches_and_the_latest(home: Path) -> None:
    settings = Settings(home=home)
    run_score(settings, pd.Timestamp("2015-04-01"))
    run_score(settings, pd.Timestamp("2015-05-01"))
    before = folders.list_batches(settings.batches_dir)
    assert len(before) >= 3
    report = run_score(settings, AS_OF, keep=2)
    remaining = {m["batch_id"] for m in folders.list_batches(settings.batches_dir)}
    # The two with the latest as-of days, and the published latest (June) whatever its rank.
    expected = {m["batch_id"] for m in before[-2:]} | {report.batch_id}
    assert remaining == expected
    assert set(report.pruned) == {m["batch_id"] for m in before} - expected
    assert folders.latest_batch(settings.batches_dir) == report.folder


def test_scheduler_examples_run_the_score_command_with_its_settings() -> None:
    import yaml

    deploy = Path(__file__).resolve().parents[2] / "pipelines" / "deploy"
    job = yaml.safe_load((deploy / "k8s-cronjob.yaml").read_text(encoding="utf-8"))
    container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:2] == ["supplierrisk", "score"]
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    names = {e["name"] for e in container["env"]}
    assert {"SUPPLIERRISK_HOME", "SUPPLIERRISK_MLFLOW_TRACKING_URI", "SUPPLIERRISK_RESULTS_DB_URL"} <= names
    # Every variable the examples set is a real setting.
    fields = {f"SUPPLIERRISK_{name.upper()}" for name in Settings.model_fields}
    assert names <= fields
    service = (deploy / "supplierrisk-score.service").read_text(encoding="utf-8")
    assert "supplierrisk score" in service
    assert "SuccessExitStatus=6" in service
    assert "supplierrisk score" in (deploy / "cron.example").read_text(encoding="utf-8")
