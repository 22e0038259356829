"""The feedback loop: a batch scored before outcomes arrive is checked once they do."""

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.ingest import run_ingest
from pipelines.monitor import run_monitor
from pipelines.score import run_score
from pipelines.train import run_train
from supplierrisk.features import known_history
from supplierrisk.ingest import get_preset
from supplierrisk.settings import Settings
from supplierrisk.storage import load_store, write_parquet
from supplierrisk.tracking import MODEL_NAMES, connect, promote

THEN = pd.Timestamp("2014-09-01")


@pytest.fixture(scope="module")
def settings(new_home: Callable[[], Path]) -> Settings:
    """Champions trained on what was known on 1 Sep 2014, and the store as it was that day."""
    settings = Settings(home=new_home())
    source = get_preset("scms").bundled_path()
    assert source is not None
    run_ingest(source, settings, preset="scms")
    full = load_store(settings.store_path)
    write_parquet(full, settings.home / "full.parquet")
    write_parquet(known_history(full, THEN), settings.store_path)
    client = connect(settings)
    for kind in ("otd", "disruption"):
        report = run_train(settings, kind, THEN, None)
        if not report.decision.promote:  # this test is about monitoring, not the gate
            promote(client, MODEL_NAMES[kind], report.version, "monitoring test", who="test")
    return settings


def test_outcomes_arriving_after_a_batch_are_checked(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = run_score(settings, THEN)
    scored = batch.manifest["rows_scored"]["open_lines"]
    assert scored > 100
    nothing_yet = run_monitor(settings)
    assert nothing_yet["batches"] == []  # the batch is as of the last known day: no outcome yet
    # A year of deliveries arrives.
    write_parquet(pd.read_parquet(settings.home / "full.parquet"), settings.store_path)
    report = run_monitor(settings)
    otd = next(r for r in report["batches"] if r["model"] == "otd")
    assert otd["scored"] == scored
    assert otd["outcome_known"] == scored  # SCMS delivers every line eventually
    assert 0 < otd["realised_rate"] < 1
    assert 0.5 < otd["roc_auc"] <= 1
    assert otd["backtest_roc_auc"] > 0.5
    assert otd["degraded"] == bool(otd["reasons"])
    disruption = next(r for r in report["batches"] if r["model"] == "disruption")
    assert disruption["n"] == disruption["scored"] > 0
    assert (settings.reports_dir / "monitor.json").exists()
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(settings.home))
    printed = CliRunner().invoke(app, ["monitor"])
    assert printed.exit_code == 0, printed.output
    assert "2014-09-01" in printed.output
    drift = CliRunner().invoke(app, ["drift"])
    assert drift.exit_code == 0, drift.output
    assert "drift of the batch as of 2014-09-01" in drift.output


def test_drift_before_any_batch_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["drift"])
    assert result.exit_code == 2
    assert "no published batch" in result.output
