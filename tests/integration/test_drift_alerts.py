"""A country shock, weekly batches, one alert: the same sentence in drift.json, CLI, API, page and MLflow."""

import html
import json
from collections.abc import Callable
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.score import run_score
from pipelines.train import run_train
from serving.app import create_app
from supplierrisk.service.apikeys import create_key
from supplierrisk.settings import Settings
from supplierrisk.storage import write_parquet
from supplierrisk.synth import SynthConfig, generate_history
from supplierrisk.tracking import BATCH_EXPERIMENT, MODEL_NAMES, connect, promote
from tests.small_models import SMALL_DISRUPTION, SMALL_OTD

ONSET = pd.Timestamp("2024-03-04")  # a Monday: lines promised from here on are hit
TRAINED = ONSET - pd.Timedelta(days=77)


@pytest.fixture(scope="module")
def shocked(new_home: Callable[[], Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict]:
    """Champions trained eleven weeks before the shock, then a batch every other Monday until after it.

    Every other week keeps the test short; most lines are open for more than two weeks, so
    nearly all are still forecast before they are due.
    """
    root = tmp_path_factory.mktemp("shock")
    settings = Settings(home=new_home(), drift_evidently=False, drift_null_draws=30, api_poll_seconds=0)
    config = SynthConfig(
        suppliers=150,
        years=2.5,
        seed=5,
        shock_country="China",
        shock_from=ONSET.date().isoformat(),
        shock_odds=6.0,
    )
    write_parquet(generate_history(config).history, settings.store_path)
    client = connect(settings)
    for kind, text in (("otd", SMALL_OTD), ("disruption", SMALL_DISRUPTION)):
        path = root / f"{kind}.yaml"
        path.write_text(text, encoding="utf-8")
        report = run_train(settings, kind, TRAINED, path)
        if not report.decision.promote:  # this test is about drift, not the gate
            promote(client, MODEL_NAMES[kind], report.version, "drift test", who="test")
    summaries = {}
    for day in pd.date_range(TRAINED + pd.Timedelta(days=7), ONSET + pd.Timedelta(days=28), freq="14D"):
        report = run_score(settings, day)
        summaries[day] = report.folder / "drift.json"
    return settings, summaries


def test_the_shock_is_alarmed_and_named_in_words(shocked: tuple[Settings, dict]) -> None:
    _, summaries = shocked
    before = [json.loads(p.read_text()) for day, p in summaries.items() if day <= ONSET]
    last = json.loads(list(summaries.values())[-1].read_text())
    assert not any(a["kind"] == "calibration" for s in before for a in s["alerts"])
    calibration = [a for a in last["alerts"] if a["kind"] == "calibration"]
    assert calibration, last["calibration"]["otd"]["segments"][:3]
    named = [a for a in calibration if a["segment"] == "supplier_country=China"]
    assert named
    assert named[0]["sentence"].startswith(
        "late lines from suppliers in China running above the predicted rate"
    )
    assert last["consequence"] == "retrain recommended"
    assert any(r.startswith("calibration alarm: ") for r in last["retrain"]["reasons"])
    # Feature drift is shown against training until 8 earlier batches exist (this run has 7).
    assert not last["otd"]["reference"]["judged"]
    assert not any(a["kind"] == "feature" for s in before for a in s["alerts"])


def test_the_same_sentence_in_the_cli_the_api_the_page_and_mlflow(
    shocked: tuple[Settings, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, summaries = shocked
    last = json.loads(list(summaries.values())[-1].read_text())
    sentence = next(a["sentence"] for a in last["alerts"] if a["kind"] == "calibration")
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(settings.home))
    printed = CliRunner().invoke(app, ["drift"])
    assert printed.exit_code == 0, printed.output
    assert sentence in printed.output
    key, _ = create_key(settings.keys_path, "viewer", "drift-test")
    with TestClient(create_app(settings)) as client:
        body = client.get("/v1/drift", headers={"X-API-Key": key}).json()
        assert sentence in [a["sentence"] for a in body["summary"]["alerts"]]
        page = client.get("/ui/monitoring", headers={"X-API-Key": key})
        assert page.status_code == 200
        assert "retrain recommended" in page.text
        assert html.escape(sentence, quote=False) in page.text
    mlflow.set_tracking_uri(settings.tracking_uri)
    runs = mlflow.search_runs(
        experiment_names=[BATCH_EXPERIMENT], order_by=["start_time DESC"], max_results=1
    )
    run_id = runs.iloc[0]["run_id"]
    text = mlflow.artifacts.load_text(f"runs:/{run_id}/drift_alerts.txt")
    assert sentence in text
