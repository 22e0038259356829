"""Disruption model end to end on SCMS with a real MLflow store: train, gate, register, predict, CLI."""

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.ingest import run_ingest
from pipelines.predict import run_predict_disruption
from pipelines.train import run_train
from supplierrisk.ingest import get_preset
from supplierrisk.modeling.gate import choose_candidate
from supplierrisk.modeling.registration import TrainReport
from supplierrisk.settings import Settings
from supplierrisk.tracking import CHALLENGER, CHAMPION, DISRUPTION_MODEL_NAME, connect, list_versions

AS_OF = pd.Timestamp("2015-09-14")


@pytest.fixture(scope="module")
def trained(new_home: Callable[[], Path]) -> tuple[Settings, TrainReport]:
    settings = Settings(home=new_home())
    source = get_preset("scms").bundled_path()
    assert source is not None
    run_ingest(source, settings, preset="scms")
    return settings, run_train(settings, "disruption", AS_OF, None)


def test_run_is_logged_with_baselines_on_the_same_folds(trained: tuple[Settings, TrainReport]) -> None:
    settings, report = trained
    client = MlflowClient(settings.tracking_uri)
    run = client.get_run(report.run_id)
    for model in (
        "model",
        "blend",
        "logistic_regression",
        "trailing_severe_rate",
        "trailing_late_rate",
        "global_event_rate",
    ):
        for metric in ("roc_auc", "brier", "log_loss", "ece"):
            assert f"fold0_{model}_{metric}" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(report.run_id)}
    assert {"backtest.csv", "reliability.png", "reference.parquet", "config.json"} <= artifacts
    assert run.data.params["config.event.horizon_days"] == "90"
    assert run.data.tags["data_window"].endswith("2015-09-14")
    table = report.table
    # Every row of a fold is scored on the same test window and training set.
    assert table.groupby("fold")[["test_start", "test_end", "n_train"]].nunique().eq(1).all().all()
    # Snapshots are monthly; the last test window ends a label's reach before the as-of: for the default
    # event, the horizon (derived, logged with its rule) plus the on-time tolerance (0) plus one day.
    assert run.data.params["derived.event.snapshot_frequency"] == "MS"
    assert "median delay of" in run.data.params["derived.severe_delay_days.rule"]
    assert report.gap_days == 90 + 0 + 1
    assert pd.Timestamp(table["test_end"].max()) == AS_OF - pd.Timedelta(days=91)
    version = client.get_model_version_by_alias(DISRUPTION_MODEL_NAME, CHALLENGER)
    assert str(version.version) == report.version


def test_gate_serves_the_candidate_of_the_declared_rule(trained: tuple[Settings, TrainReport]) -> None:
    settings, report = trained
    candidates = ["model", "blend", "logistic_regression", "trailing_severe_rate", "trailing_late_rate"]
    baselines = ["global_event_rate", "trailing_severe_rate", "trailing_late_rate", "logistic_regression"]
    choice = choose_candidate(report.means, candidates, baselines, 0.0005)
    assert report.served == choice.row
    # A first training always leaves a champion, which is never worse than a baseline.
    assert report.decision.promote
    assert choice.eligible
    tags = MlflowClient(settings.tracking_uri).get_run(report.run_id).data.tags
    assert tags["served_candidate"] == choice.row
    assert tags["served_sentence"].startswith("serving the")


def test_predict_disruption_by_category_with_drivers(
    trained: tuple[Settings, TrainReport], tmp_path: Path
) -> None:
    settings, report = trained
    client = connect(settings)
    if not report.decision.promote:
        client.set_registered_model_alias(DISRUPTION_MODEL_NAME, CHAMPION, report.version)
    out = tmp_path / "risk.csv"
    scored = run_predict_disruption(settings, pd.Timestamp("2015-06-01"), category="ARV", out=out)
    assert len(scored) > 5
    assert scored["p_disruption"].between(0, 1).all()
    assert scored["p_disruption"].is_monotonic_decreasing
    assert set(scored["risk_band"]) <= {"low", "medium", "high"}
    assert scored[["driver_1", "driver_2", "driver_3"]].notna().all().all()
    written = pd.read_csv(out)
    assert written["supplier_id"].tolist() == scored["supplier_id"].tolist()
    assert "drivers_json" in written
    everyone = run_predict_disruption(settings, pd.Timestamp("2015-06-01"))
    assert len(everyone) > len(scored)
    with pytest.raises(ValueError, match="unknown category 'NOPE'; known categories: ACT, ANTM, ARV"):
        run_predict_disruption(settings, pd.Timestamp("2015-06-01"), category="NOPE")
    table = list_versions(client, [DISRUPTION_MODEL_NAME])
    assert table["model"].eq(DISRUPTION_MODEL_NAME).all()


def test_cli_train_predict_and_promote(trained: tuple[Settings, TrainReport], monkeypatch) -> None:
    settings, report = trained
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(settings.home))
    runner = CliRunner()
    result = runner.invoke(app, ["promote", "disruption", "--version", report.version, "--reason", "review"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["predict", "disruption", "--as-of", "2015-06-01", "--top", "3"])
    assert result.exit_code == 0, result.output
    blocks = [line for line in result.output.splitlines() if not line.startswith(("    - ", "    now: "))]
    assert len(blocks) == 3
    assert result.output.count("    now: ") == 3  # what changed recently, per supplier
    assert result.output.count("    - ") == 9
    result = runner.invoke(app, ["predict", "disruption", "--as-of", "2015-06-01", "--category", "NOPE"])
    assert result.exit_code == 2
    assert "unknown category 'NOPE'" in result.output
    result = runner.invoke(app, ["models"])
    assert DISRUPTION_MODEL_NAME in result.output
    config = settings.home / "otd.yaml"
    config.write_text("model: otd\n")
    result = runner.invoke(app, ["train", "disruption", "--config", str(config)])
    assert result.exit_code == 2
    assert "trains model 'otd', not 'disruption'" in result.output
