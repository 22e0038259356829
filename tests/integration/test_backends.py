"""The whole loop on each backend: SQLite files (the default) and a PostgreSQL server.

Train, promote, batch, API (scoring, supplier, a saved scenario) and monitor, with
MLflow's backend store and the results database both on the backend under test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from pipelines.monitor import run_monitor
from pipelines.score import run_score
from pipelines.train import run_train
from serving.app import create_app
from supplierrisk.batch import results
from supplierrisk.features import known_history, latest_day
from supplierrisk.settings import Settings
from supplierrisk.storage import write_parquet
from supplierrisk.synth import SynthConfig, generate_history
from supplierrisk.tracking import CHAMPION, MODEL_NAMES, connect, promote, version_for_alias
from tests.small_models import SMALL_DISRUPTION, SMALL_OTD
from tests.stack import request_line


@pytest.fixture(scope="module")
def full_history() -> pd.DataFrame:
    return generate_history(SynthConfig(suppliers=40, years=3.0, seed=5)).history


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, new_home: Callable[[], Path]) -> Settings:
    home = new_home()
    if request.param == "sqlite":
        return Settings(home=home, api_poll_seconds=0)
    admin = request.getfixturevalue("postgres_admin_url")
    from tests import postgres

    (home / "mlflow.db").unlink()  # the seeded SQLite store must not be what answers
    return Settings(
        home=home,
        api_poll_seconds=0,
        # Plain postgresql:// as an operator writes it; the driver is chosen for them.
        mlflow_tracking_uri=postgres.create_database(admin).replace("postgresql+psycopg://", "postgresql://"),
        results_db_url=postgres.create_database(admin),
    )


def _train_and_promote(settings: Settings, as_of: pd.Timestamp, root: Path) -> dict[str, str]:
    client = connect(settings)
    versions = {}
    for kind, text in (("otd", SMALL_OTD), ("disruption", SMALL_DISRUPTION)):
        config = root / f"{kind}.yaml"
        config.write_text(text, encoding="utf-8")
        report = run_train(settings, kind, as_of, config)
        if version_for_alias(client, MODEL_NAMES[kind], CHAMPION) is None:
            promote(client, MODEL_NAMES[kind], report.version, "backend test", who="test")
        champion = version_for_alias(client, MODEL_NAMES[kind], CHAMPION)
        assert champion is not None
        versions[kind] = str(champion.version)
    return versions


def _use_the_api(settings: Settings, history: pd.DataFrame, versions: dict[str, str]) -> str:
    row = history.iloc[-1]
    line = request_line(history)
    recent = history.loc[history["order_date"] > latest_day(history) - pd.Timedelta(days=90)]
    category = str(recent["category"].value_counts().index[0])
    top = recent.loc[recent["category"] == category, "supplier_id"].value_counts().index
    shift = {"category": category, "shifts": [{"from": top[0], "to": top[1], "share": 0.3}], "runs": 200}
    with TestClient(create_app(settings.model_copy(update={"api_auth_disabled": True}))) as api:
        ready = api.get("/ready").json()
        assert ready["status"] == "ready", ready
        assert ready["models"] == versions
        scored = api.post("/v1/order-lines/score", json={"lines": [line]})
        assert scored.status_code == 200, scored.text
        assert 0 < scored.json()["lines"][0]["p_late"] < 1
        assert api.get(f"/v1/suppliers/{row['supplier_id']}").status_code == 200
        saved = api.post("/v1/scenarios", json={**shift, "save": True})
        assert saved.status_code == 200, saved.text
        again = api.get(f"/v1/scenarios/{saved.json()['id']}")
        assert again.status_code == 200
        assert again.json()["seed"] == saved.json()["seed"]
        return str(saved.json()["id"])


def test_train_promote_batch_api_and_monitor(
    settings: Settings, full_history: pd.DataFrame, tmp_path: Path
) -> None:
    then = latest_day(full_history) - pd.Timedelta(days=120)
    write_parquet(known_history(full_history, then), settings.store_path)
    versions = _train_and_promote(settings, then, tmp_path)
    batch = run_score(settings, then)
    assert results.latest_batch_id(settings.results_url) == batch.batch_id
    assert (
        results.count_rows(settings.results_url, "open_lines") == batch.manifest["rows_scored"]["open_lines"]
    )
    scenario = _use_the_api(settings, known_history(full_history, then), versions)
    write_parquet(full_history, settings.store_path)  # four months of outcomes arrive
    report = run_monitor(settings)
    otd = next(r for r in report["batches"] if r["model"] == "otd")
    assert otd["outcome_known"] > 0
    assert 0 < otd["roc_auc"] <= 1
    engine = results.engine_for(settings.results_url)
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT count(*) FROM scenarios WHERE scenario_id = :i"), {"i": scenario}
        )
        assert found.scalar_one() == 1
    if settings.results_db_url:  # PostgreSQL: nothing fell back to files in the home
        assert not (settings.home / "results.db").exists()
        assert not (settings.home / "mlflow.db").exists()
        assert engine.dialect.name == "postgresql"
