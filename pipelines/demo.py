"""Demo job, the whole loop on SCMS: ingest, scorecards, both models, riskiest suppliers, batch, drift."""

from __future__ import annotations

import pandas as pd

from pipelines.ingest import run_ingest
from pipelines.kpis import run_kpis
from pipelines.monitor import format_drift, latest_drift
from pipelines.predict import format_supplier_risk, run_predict_disruption
from pipelines.score import run_score
from pipelines.train import latest_day, run_train
from supplierrisk.ingest import get_preset
from supplierrisk.settings import Settings
from supplierrisk.storage import load_store

_SUPPLIER_COLUMNS = [
    "supplier_id",
    "otd_lines",
    "otd_rate",
    "otd_rate_lo",
    "otd_rate_hi",
    "lead_time_mean_days",
    "days_late_mean",
    "spend_share",
    "open_lines",
    "score",
]
_CATEGORY_COLUMNS = [
    "category",
    "otd_lines",
    "otd_rate",
    "n_suppliers",
    "hhi",
    "single_source",
    "spend_share",
]


def _render(frame: pd.DataFrame, columns: list[str]) -> str:
    shown = [c for c in columns if c in frame.columns]
    return frame[shown].to_string(index=False, float_format=lambda v: f"{v:.3g}", max_colwidth=40)


def run_demo(settings: Settings, as_of: pd.Timestamp, top: int = 15) -> str:
    """Run the demo end to end and return what it prints."""
    preset = get_preset("scms")
    source = preset.bundled_path()
    assert source is not None  # noqa: S101 - the scms preset always ships its data
    report = run_ingest(source, settings, preset="scms")
    suppliers = run_kpis(settings, as_of, 365, "supplier")
    categories = run_kpis(settings, as_of, 365, "category")
    by_spend = suppliers.table.sort_values("spend", ascending=False, na_position="last").head(top)
    parts = [
        "== ingest: USAID SCMS delivery history ==",
        report.format_text(),
        "",
        f"== top {top} suppliers by spend, 365 days to {as_of.date()} (90% intervals) ==",
        _render(by_spend, _SUPPLIER_COLUMNS),
        "",
        f"== categories, 365 days to {as_of.date()} ==",
        _render(categories.table, _CATEGORY_COLUMNS),
    ]
    if suppliers.skipped:
        parts.append("")
        parts.extend(f"skipped {name}: {why}" for name, why in suppliers.skipped.items())
    otd = run_train(settings, "otd", None, None)
    disruption = run_train(settings, "disruption", None, None)
    parts += [
        "",
        "== on-time-delivery model: rolling-origin backtest against baselines ==",
        otd.format_text(),
        "",
        "== disruption-risk model: rolling-origin backtest against baselines ==",
        disruption.format_text(),
        "",
    ]
    if disruption.decision.promote:
        risk_as_of = latest_day(load_store(settings.store_path))
        riskiest = run_predict_disruption(settings, risk_as_of, top=10)
        parts += [
            f"== 10 riskiest suppliers as of {risk_as_of.date()}: {disruption.event_text} ==",
            format_supplier_risk(riskiest),
        ]
    else:
        parts.append("the disruption model did not pass the gate, so no champion scores are shown")
    if otd.decision.promote and disruption.decision.promote:
        # A look-back batch: the models were trained on data to the end of the history.
        batch = run_score(settings, as_of)
        parts += [
            "",
            f"== nightly batch as of {as_of.date()} (a look-back: the champions were trained on later data)"
            " ==",
            batch.format_text(),
            "",
            format_drift(latest_drift(settings)),
        ]
        where = f"batch folder: {batch.folder}\nresults database: {settings.results_url}"
    else:
        where = "no batch: a model did not pass its gate"
    parts += [
        "",
        "== where to look ==",
        f"MLflow UI: supplierrisk mlflow-ui   (store {settings.tracking_uri})",
        where,
        "drift and feedback: supplierrisk drift; supplierrisk monitor",
        "API: the serving issue adds 'supplierrisk serve', which reads the latest batch",
    ]
    return "\n".join(parts)
