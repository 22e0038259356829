"""Training end to end on the real SCMS history with a real MLflow store in a temp folder."""

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.ingest import run_ingest
from pipelines.predict import run_predict_otd
from pipelines.train import run_train_otd
from supplierrisk.ingest import get_preset
from supplierrisk.modeling.gate import choose_candidate
from supplierrisk.modeling.registration import TrainReport
from supplierrisk.settings import Settings
from supplierrisk.tracking import CHALLENGER, CHAMPION, OTD_MODEL_NAME, TrackingError, connect, promote


@pytest.fixture(scope="module")
def trained(new_home: Callable[[], Path]) -> tuple[Settings, TrainReport]:
    settings = Settings(home=new_home())
    source = get_preset("scms").bundled_path()
    assert source is not None
    run_ingest(source, settings, preset="scms")
    return settings, run_train_otd(settings, pd.Timestamp("2015-09-14"), None)


def test_run_logs_metrics_artifacts_and_registers_challenger(trained: tuple[Settings, TrainReport]) -> None:
    settings, report = trained
    client = MlflowClient(settings.tracking_uri)
    run = client.get_run(report.run_id)
    metrics = run.data.metrics
    for model in ("model", "global_rate", "supplier_trailing_rate", "logistic_regression"):
        for metric in ("roc_auc", "pr_auc", "brier", "log_loss", "ece"):
            assert f"fold0_{model}_{metric}" in metrics
    assert "mean_brier" in metrics
    assert "supplier_trailing_rate_mean_roc_auc" in metrics
    artifacts = {a.path for a in client.list_artifacts(report.run_id)}
    assert {
        "backtest.csv",
        "reliability.png",
        "reliability.csv",
        "feature_importance.csv",
        "features.csv",
        "reference.parquet",
        "config.json",
        "delay_backtest.csv",
    } <= artifacts
    # The delay quantiles' backtest, beside the empirical quantiles, and which of the two is served.
    for method in ("residual", "empirical"):
        for metric in ("coverage_q10", "coverage_q90", "pinball_mean", "coverage_abs_error_mean"):
            assert 0.0 <= metrics[f"delay_{method}_{metric}"] < 1e6
    served_empirical = metrics["delay_residual_pinball_mean"] >= metrics["delay_empirical_pinball_mean"]
    assert metrics["delay_served_empirical"] == float(served_empirical)
    assert "delay quantiles:" in run.data.tags["notes"]
    assert any(note.startswith("delay quantiles:") for note in report.notes)
    assert run.data.tags["training_as_of"] == "2015-09-14"
    assert len(run.data.tags["data_sha256"]) == 64
    assert run.data.params["data.rows"] == "10183"
    version = client.get_model_version_by_alias(OTD_MODEL_NAME, CHALLENGER)
    assert str(version.version) == report.version
    # Artifacts stay in the data home, not in ./mlruns.
    assert (settings.home / "mlartifacts").exists()
    assert not Path("mlruns").exists()


def test_gate_follows_the_backtest(trained: tuple[Settings, TrainReport]) -> None:
    settings, report = trained
    choice = choose_candidate(
        report.means,
        ["model", "blend", "logistic_regression", "supplier_trailing_rate"],
        ["global_rate", "supplier_trailing_rate", "logistic_regression"],
        0.0005,
    )
    assert report.served == choice.row
    # The first training leaves a champion: the served candidate, never worse than a baseline.
    assert report.decision.promote
    assert choice.eligible
    client = MlflowClient(settings.tracking_uri)
    assert str(client.get_model_version_by_alias(OTD_MODEL_NAME, CHAMPION).version) == report.version
    run = client.get_run(report.run_id)
    assert run.data.tags["gate_decision"] == CHAMPION
    assert run.data.metrics["served_mean_brier"] == pytest.approx(choice.brier)
    for row in ("blend", "logistic_regression", "supplier_trailing_rate"):
        assert f"{row}_mean_roc_auc" in run.data.metrics


def test_training_is_reproducible(trained: tuple[Settings, TrainReport]) -> None:
    settings, report = trained
    again = run_train_otd(settings, pd.Timestamp("2015-09-14"), None)
    pd.testing.assert_frame_equal(report.means, again.means)
    assert int(again.version) == int(report.version) + 1


def test_manual_promotion_then_predict_open_lines(
    trained: tuple[Settings, TrainReport], tmp_path: Path
) -> None:
    settings, report = trained
    client = connect(settings)
    promote(client, OTD_MODEL_NAME, report.version, "test", who="tester")
    tags = client.get_model_version(OTD_MODEL_NAME, report.version).tags
    assert tags["promoted_by"] == "tester"
    assert tags["promoted_reason"] == "test"
    out = tmp_path / "scores.parquet"
    scored = run_predict_otd(settings, pd.Timestamp("2015-06-30"), out)
    assert len(scored) > 0
    assert scored["p_late"].between(0, 1).all()
    assert (scored["delay_p90_days"] >= scored["delay_p50_days"]).all()
    assert (scored["model_version"] == report.version).all()
    pd.testing.assert_frame_equal(pd.read_parquet(out), scored)


def test_unreachable_tracking_uri_fails_fast_with_the_uri(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, mlflow_tracking_uri="http://127.0.0.1:9")
    with pytest.raises(TrackingError, match=r"http://127.0.0.1:9 is unreachable"):
        connect(settings)


def test_cli_dates_are_strict_iso_and_default_to_the_stores_last_day(
    trained: tuple[Settings, TrainReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, report = trained
    promote(connect(settings), OTD_MODEL_NAME, report.version, "test")
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(settings.home))
    runner = CliRunner()
    kpis = runner.invoke(app, ["kpis", "--by", "category"])
    assert kpis.exit_code == 0, kpis.output
    assert "as of 2015-09-14 (the store's last day)" in kpis.output
    assert "ARV" in kpis.output
    # Every SCMS line is delivered by the last day: the empty result says why, never "Empty DataFrame".
    empty = runner.invoke(app, ["predict", "otd"])
    assert empty.exit_code == 0, empty.output
    assert "no line is open and not yet due on 2015-09-14" in empty.output
    assert "Empty DataFrame" not in empty.output
    for command in (["kpis"], ["predict", "otd"], ["train", "otd"], ["score"]):
        wrong = runner.invoke(app, [*command, "--as-of", "28/08/2015"])
        assert wrong.exit_code == 2, wrong.output
        assert "--as-of '28/08/2015' is not a date in YYYY-MM-DD form" in wrong.output
    outside = runner.invoke(app, ["kpis", "--as-of", "2030-01-01"])
    assert outside.exit_code == 5
    assert "after the store's last known day (2015-09-14)" in outside.output
    assert "the store covers 2006-" in outside.output
    quiet = runner.invoke(app, ["kpis", "--as-of", "2015-06-30", "--format", "csv"])
    assert quiet.exit_code == 0
    assert "the store's last day" not in quiet.output
