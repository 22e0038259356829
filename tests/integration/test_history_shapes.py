"""Any history shape trains with no YAML: settings derived from the data, the served candidate never worse.

Synthetic histories of 12, 18 and 36 months with 5 and 500 suppliers, one whose
delays never exceed 4 days, and one with a supplier whose every line is late. Each
runs ``train otd``, ``train disruption`` and ``score`` with no configuration, each
exits 0, and the served candidate is never worse than the best baseline on the
backtest: its mean Brier is at most the best baseline's (within the gate's tie
tolerance), and its AUC too whenever it says it beats every baseline.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from pipelines.cli import app
from supplierrisk.settings import Settings
from supplierrisk.storage import write_parquet
from supplierrisk.synth import SynthConfig, generate_history
from supplierrisk.tracking import MODEL_NAMES

SHAPES = {
    "12 months, 5 suppliers": SynthConfig(suppliers=5, years=1.0, seed=11, lines_per_supplier_per_year=120),
    "12 months, 500 suppliers": SynthConfig(suppliers=500, years=1.0, seed=12, lines_per_supplier_per_year=8),
    "18 months, 5 suppliers": SynthConfig(suppliers=5, years=1.5, seed=13, lines_per_supplier_per_year=120),
    "18 months, 500 suppliers": SynthConfig(suppliers=500, years=1.5, seed=14, lines_per_supplier_per_year=8),
    "36 months, 5 suppliers": SynthConfig(suppliers=5, years=3.0, seed=15, lines_per_supplier_per_year=80),
    "36 months, 500 suppliers": SynthConfig(suppliers=500, years=3.0, seed=16, lines_per_supplier_per_year=6),
    "delays capped at 4 days": SynthConfig(suppliers=40, years=1.5, seed=17, max_delay_days=4),
    "one supplier always late": SynthConfig(suppliers=40, years=1.5, seed=18, always_late_suppliers=1),
}
# Feature drift (Evidently, seconds per model) runs on one many-supplier shape; the five-supplier ones
# skip it anyway (fewer than SUPPLIERRISK_DRIFT_MIN_SUPPLIERS), and drift has tests of its own.
DRIFT_CHECKED = {"18 months, 500 suppliers"}
runner = CliRunner()


def served_not_worse(settings: Settings, kind: str) -> tuple[bool, str]:
    """Whether the newest run's served candidate is at least as good as every baseline (within tolerance)."""
    client = MlflowClient(settings.tracking_uri)
    newest = max(client.search_model_versions(f"name='{MODEL_NAMES[kind]}'"), key=lambda v: int(v.version))
    run = client.get_run(newest.run_id)
    metrics, tags = run.data.metrics, run.data.tags
    tolerance = 0.0005
    ok = metrics["served_mean_brier"] <= metrics["best_baseline_brier"] + tolerance
    if metrics["served_beats_every_baseline"]:
        ok &= metrics["served_mean_roc_auc"] >= metrics["best_baseline_roc_auc"] - tolerance
    return ok, f"{tags['served_sentence']} | {tags['gate_reason']}"


@pytest.mark.parametrize("shape", list(SHAPES))
def test_train_and_score_with_no_yaml(shape: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shape not in DRIFT_CHECKED:
        monkeypatch.setenv("SUPPLIERRISK_DRIFT_MIN_SUPPLIERS", "1000000")
    settings = Settings(home=home)
    write_parquet(generate_history(SHAPES[shape]).history, settings.store_path)
    for kind in ("otd", "disruption"):
        result = runner.invoke(app, ["train", kind])
        assert result.exit_code == 0, result.output
        assert "derived: " in result.output
        assert "gate: promote to champion" in result.output  # a first training always leaves a champion
        ok, why = served_not_worse(settings, kind)
        assert ok, why
    result = runner.invoke(app, ["score"])
    assert result.exit_code == 0, result.output
