"""Alerts in words: what changed, how sure, and what to do about it.

One list of alerts per batch, written into ``drift.json`` and read unchanged by the
CLI (``supplierrisk drift``), the API (``GET /v1/drift``), the workspace's
monitoring page and the batch's MLflow run. The calibration alarm comes first and
recommends a retrain; feature drift alone explains and asks to watch.
"""

from __future__ import annotations

from typing import Any, Final

RETRAIN: Final = "retrain recommended"
WATCH: Final = "watch"
# At most this many drifted features are named in one batch's alerts.
MAX_FEATURE_ALERTS: Final = 5

_SEGMENT_WORDS: Final = {
    "all": "late lines",
    "supplier_id": "late lines from {value}",
    "supplier_country": "late lines from suppliers in {value}",
    "category": "late lines in category {value}",
    "ship_mode": "late lines shipped by {value}",
}


def p_words(p: float) -> str:
    """``p < 0.001`` or ``p = 0.004``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def calibration_sentence(row: dict[str, Any]) -> str:
    """One alarmed segment of the calibration test in words."""
    subject = _SEGMENT_WORDS.get(row["field"], "late lines with {field} {value}").format(**row)
    ratio, weeks = row["ratio"], row["weeks"]
    if row["test"] == "level":
        where = "above" if row["direction"] == "above" else "below"
        return (
            f"{subject} running {where} the predicted rate: {ratio:.2f}× for {weeks} weeks,"
            f" beyond the model's usual calibration swing ({p_words(row['p_value'])})"
        )
    before = f"{row['baseline_ratio']:.2f}× over the {row['baseline_weeks']} weeks before"
    if (row["direction"] == "below") == (ratio < 1):
        where = "below" if ratio < 1 else "above"
        head = f"{subject} running {where} the predicted rate: {ratio:.2f}× for {weeks} weeks"
    else:
        head = f"{subject} running at {ratio:.2f}× the predicted rate for {weeks} weeks"
    way = "down" if row["direction"] == "below" else "up"
    return f"{head}, {way} from {before} ({p_words(row['p_value'])})"


def _number(value: float) -> str:
    return f"{value:,.3g}"


def feature_sentence(row: dict[str, Any], reference_label: str) -> str:
    """One drifted feature in words, with its effective sample."""
    change = row["change"]
    unit = "suppliers" if row["unit"] == "supplier" else "lines"
    sample = f"effective sample {row['effective_sample']} {unit}"
    tail = f"against {reference_label} ({p_words(row['p_value'])}, {sample})"
    if row["kind"] == "categorical":
        return (
            f"{row['feature']}: {change['value']} at {change['current_share']:.0%} of {unit},"
            f" from {change['reference_share']:.0%}, {tail}"
        )
    before, now = change["reference_median"], change["current_median"]
    if before == 0 or now == 0:
        before, now = change["reference_mean"], change["current_mean"]
        stat = "mean"
    else:
        stat = "median"
    if before:
        move = (now - before) / abs(before)
        way = "up" if move > 0 else "down"
        return f"{row['feature']}: {stat} {way} {abs(move):.0%} ({_number(before)} → {_number(now)}), {tail}"
    return f"{row['feature']}: {stat} {_number(before)} → {_number(now)}, {tail}"


def batch_alerts(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The batch's alerts, calibration first, each with its model, sentence and consequence."""
    alerts: list[dict[str, Any]] = []
    for model in ("otd", "disruption"):
        calibration = summary.get("calibration", {}).get(model, {})
        for row in calibration.get("segments", []):
            if row.get("alarm"):
                alerts.append(
                    {
                        "model": model,
                        "kind": "calibration",
                        "segment": f"{row['field']}={row['value']}",
                        "p_value": row["p_value"],
                        "sentence": calibration_sentence(row),
                        "consequence": RETRAIN,
                    }
                )
    for model in ("otd", "disruption"):
        section = summary.get(model, {})
        if not section.get("alert"):
            continue
        drifted = [f for f in section.get("features", []) if f.get("drifted")][:MAX_FEATURE_ALERTS]
        for row in drifted:
            alerts.append(
                {
                    "model": model,
                    "kind": "feature",
                    "segment": row["feature"],
                    "p_value": row["p_value"],
                    "sentence": feature_sentence(row, section["reference"]["label"]),
                    "consequence": WATCH,
                }
            )
    return alerts


def consequence(alerts: list[dict[str, Any]]) -> str:
    """``retrain recommended`` on any calibration alarm, ``watch`` on feature drift alone, else ``none``."""
    if any(a["consequence"] == RETRAIN for a in alerts):
        return RETRAIN
    return WATCH if alerts else "none"
