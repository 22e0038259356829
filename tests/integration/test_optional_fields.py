"""Every optional field may be absent: ingest -> kpis -> train both -> score -> API views, on each shape.

One small synthetic history is exported without each optional canonical field in
turn, and without all of them. Every command exits 0, except that with no
``delivered_date`` (no outcomes at all) training says in one line what is missing,
and ``score`` then says there is no champion.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pipelines.cli import EXIT_NO_CHAMPION, EXIT_USER_ERROR, app
from serving.app import create_app
from supplierrisk.schema import CANONICAL_FIELDS, REQUIRED_FIELDS
from supplierrisk.settings import Settings
from supplierrisk.synth import SynthConfig, generate_history
from supplierrisk.tracking import MODEL_NAMES, connect, promote, version_for_alias

OPTIONAL = [f for f in CANONICAL_FIELDS if f not in REQUIRED_FIELDS]
ALL = "all optional fields"
ALL_BUT_DELIVERIES = "all optional fields but delivered_date"
CASES = [*OPTIONAL, ALL, ALL_BUT_DELIVERIES]
# Small models: the matrix checks that every shape runs, not how well it ranks.
FAST_LIGHTGBM = """
lightgbm: {n_estimators: 60, learning_rate: 0.1, num_leaves: 7, min_child_samples: 20}
early_stopping_rounds: 15
"""
OTD_CONFIG = "model: otd\n" + FAST_LIGHTGBM
DISRUPTION_CONFIG = (
    "model: disruption\nbacktest: {folds: 2, test_days: 90, min_train_days: 180}\n" + FAST_LIGHTGBM
)
runner = CliRunner()


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return generate_history(
        SynthConfig(suppliers=6, years=3.0, seed=5, lines_per_supplier_per_year=50)
    ).history


def export(history: pd.DataFrame, folder: Path, dropped: list[str]) -> tuple[Path, Path]:
    """The history as an ERP would export it without ``dropped``, and its mapping."""
    columns = [c for c in CANONICAL_FIELDS if c not in dropped]
    frame = history[columns].copy()
    for column in columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.strftime("%Y-%m-%d")
    source, mapping = folder / "export.csv", folder / "mapping.yaml"
    frame.to_csv(source, index=False)
    mapping.write_text("columns:\n" + "".join(f"  {c}: {c}\n" for c in columns), encoding="utf-8")
    return source, mapping


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def train(kind: str, config: Path) -> tuple[int, str]:
    """Train, and make the new version champion whatever the gate said: the views need one."""
    code, output = invoke("train", kind, "--config", str(config))
    if code == 0:
        client = connect(Settings())
        if version_for_alias(client, MODEL_NAMES[kind], "champion") is None:
            newest = max(int(v.version) for v in client.search_model_versions(f"name='{MODEL_NAMES[kind]}'"))
            promote(client, MODEL_NAMES[kind], str(newest), "optional-field matrix")
    return code, output


def api_views(settings: Settings) -> None:
    """The supplier and category views answer 200 (the category list says why when it is empty)."""
    app_ = create_app(settings.model_copy(update={"api_auth_disabled": True, "api_poll_seconds": 0}))
    with TestClient(app_) as client:
        suppliers = client.get("/v1/suppliers")
        assert suppliers.status_code == 200, suppliers.text
        first = suppliers.json()["items"][0]["supplier_id"]
        assert client.get(f"/v1/suppliers/{first}").status_code == 200
        categories = client.get("/v1/categories")
        assert categories.status_code == 200, categories.text
        body = categories.json()
        if body["items"]:
            category = body["items"][0]["category"]
            assert client.get(f"/v1/categories/{category}").status_code == 200
        else:
            assert any("no category values" in note for note in body["notes"])


@pytest.mark.parametrize("case", CASES)
def test_every_command_works_without_the_field(
    case: str, history: pd.DataFrame, tmp_path: Path, home: Path
) -> None:
    dropped = {ALL: OPTIONAL, ALL_BUT_DELIVERIES: [f for f in OPTIONAL if f != "delivered_date"]}.get(
        case, [case]
    )
    source, mapping = export(history, tmp_path, dropped)
    otd, disruption = tmp_path / "otd.yaml", tmp_path / "disruption.yaml"
    otd.write_text(OTD_CONFIG, encoding="utf-8")
    disruption.write_text(DISRUPTION_CONFIG, encoding="utf-8")
    code, output = invoke("ingest", str(source), "--mapping", str(mapping))
    assert code == 0, output
    for by in ("supplier", "category", "supplier,category"):
        code, output = invoke("kpis", "--by", by)
        assert code == 0, output
    if "delivered_date" in dropped:
        code, output = train("otd", otd)
        assert code == EXIT_USER_ERROR
        assert "no delivered_date values" in output
        assert "map delivered_date" in output
        code, output = invoke("score")
        assert code == EXIT_NO_CHAMPION, output
        return
    for kind, config in (("otd", otd), ("disruption", disruption)):
        code, output = train(kind, config)
        assert code == 0, output
    code, output = invoke("score")
    assert code == 0, output
    if "category" in dropped:
        assert "category roll-ups skipped" in output
    api_views(Settings(home=home))
