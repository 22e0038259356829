"""Replaying history: whether the scenario intervals held what really happened.

At each quarter start in a range, the models known then (trained as of the day before)
score the category's *actual* next-quarter lines, placed with the suppliers that really
took them, as of that day; the Monte Carlo gives the late-line distribution, and the
late lines that really happened are counted against it. A good simulation puts about
80% of quarters inside its P10-P90 and has a mean ratio of actual to expected near 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from supplierrisk.features import latest_day
from supplierrisk.labels import late_labels
from supplierrisk.modeling.scoring import HistoryAt, history_at
from supplierrisk.scenarios.engine import Models, json_ready, monte_carlo_inputs
from supplierrisk.scenarios.inputs import DEFAULT_SEED, ScenarioInputError
from supplierrisk.scenarios.simulation import MonteCarloInputs, expected_late, simulate
from supplierrisk.scenarios.summary import late_line_percentiles

# A case needs this many lines ordered in its quarter, nearly all with a known outcome.
MIN_CASE_LINES = 20
MIN_KNOWN_SHARE = 0.95
QUARTER_DAYS = 91
CALIBRATION_BINS = 5


@dataclass(frozen=True)
class Validation:
    """One row per case (category x quarter), per supplier rows, and the summary figures."""

    cases: pd.DataFrame
    suppliers: pd.DataFrame
    calibration: pd.DataFrame
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the summary (``cases`` is their count), one row per case, the supplier calibration."""
        return json_ready(
            {
                **self.summary,
                "rows": self.cases.to_dict(orient="records"),
                "supplier_calibration": self.calibration.to_dict(orient="records"),
            }
        )


def quarter_starts(start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    """Calendar quarter starts in ``[start, end]``."""
    first = pd.Timestamp(start).to_period("Q").start_time
    days = pd.date_range(first, pd.Timestamp(end), freq="QS")
    return [d for d in days if d >= pd.Timestamp(start).normalize()]


def assess_case(
    inputs: MonteCarloInputs, actual_late: np.ndarray, runs: int, seed: int
) -> tuple[dict[str, float], pd.DataFrame]:
    """The simulated distribution of one case's late lines against the ``actual_late`` per placement."""
    draws = simulate(inputs, runs, seed)
    weight = inputs.weights["baseline"]
    expected = expected_late(inputs)
    actual = float(actual_late.astype(float) @ weight)
    expected_total = float(expected @ weight)
    figures = {
        "lines": float(weight.sum()),
        "expected_late_lines": expected_total,
        **late_line_percentiles(draws.late_lines["baseline"]),
        "actual_late_lines": actual,
    }
    figures["inside_p10_p90"] = bool(figures["late_lines_p10"] <= actual <= figures["late_lines_p90"])
    figures["actual_over_expected"] = actual / expected_total if expected_total > 0 else float("nan")
    per_supplier = (
        pd.DataFrame(
            {"supplier": inputs.supplier, "expected": expected * weight, "actual": actual_late * weight}
        )
        .groupby("supplier", as_index=False)[["expected", "actual"]]
        .sum()
    )
    return figures, per_supplier


def supplier_calibration(suppliers: pd.DataFrame, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Per-supplier expected against actual late lines, pooled over cases, in bins of expected."""
    if suppliers.empty:
        return pd.DataFrame(columns=["bin", "supplier_cases", "mean_expected", "mean_actual"])
    ranks = suppliers["expected"].rank(method="first")
    groups = pd.qcut(ranks, q=min(bins, len(suppliers)), labels=False)
    table = suppliers.groupby(groups).agg(
        supplier_cases=("expected", "size"),
        mean_expected=("expected", "mean"),
        mean_actual=("actual", "mean"),
    )
    return table.reset_index(names="bin")


def summarise_cases(cases: pd.DataFrame, suppliers: pd.DataFrame) -> dict[str, Any]:
    """Coverage of P10-P90, the mean and pooled ratio of actual to expected, and the case count."""
    if cases.empty:
        return {"cases": 0, "coverage_p10_p90": None, "mean_actual_over_expected": None}
    total_expected = cases["expected_late_lines"].sum()
    return {
        "cases": int(len(cases)),
        "coverage_p10_p90": float(cases["inside_p10_p90"].mean()),
        "mean_actual_over_expected": float(cases["actual_over_expected"].mean()),
        "pooled_actual_over_expected": float(cases["actual_late_lines"].sum() / total_expected)
        if total_expected > 0
        else None,
        "supplier_cases": int(len(suppliers)),
    }


ModelsAt = Callable[[pd.Timestamp], Models]


def _case_lines(
    history: pd.DataFrame, outcomes: pd.DataFrame, category: str, as_of: pd.Timestamp, horizon_days: int
) -> pd.DataFrame | None:
    ordered = (history["order_date"] > as_of) & (
        history["order_date"] <= as_of + pd.Timedelta(days=horizon_days)
    )
    mask = (ordered & (history["category"] == category)).to_numpy()
    if mask.sum() < MIN_CASE_LINES or outcomes.loc[mask, "label_known"].mean() < MIN_KNOWN_SHARE:
        return None
    known = mask & outcomes["label_known"].to_numpy()
    lines = history.loc[known].sort_values(["po_id", "line_id"], kind="mergesort")
    return lines.assign(actual_late=outcomes.loc[lines.index, "late"].astype(bool).to_numpy())


def replay(
    history: pd.DataFrame,
    categories: Iterable[str],
    starts: list[pd.Timestamp],
    models_at: ModelsAt,
    tolerance_days: int,
    horizon_days: int = QUARTER_DAYS,
    runs: int = 2000,
    seed: int = DEFAULT_SEED,
) -> Validation:
    """Each quarter start's cases (see the module docstring); ``models_at`` gives the models known then."""
    outcomes = late_labels(history, latest_day(history), tolerance_days)
    categories = list(categories)
    case_rows, supplier_rows = [], []
    for start in starts:
        as_of = start - pd.Timedelta(days=1)
        candidates = {c: _case_lines(history, outcomes, c, as_of, horizon_days) for c in categories}
        candidates = {c: lines for c, lines in candidates.items() if lines is not None}
        if not candidates:
            continue
        models = models_at(as_of)
        at = history_at(history, as_of, models.otd.feature_config)
        for category, lines in candidates.items():
            figures, per_supplier = _replay_case(at, models, lines, horizon_days, runs, seed)
            case_rows.append({"category": category, "as_of": as_of.date().isoformat(), **figures})
            supplier_rows.append(per_supplier.assign(category=category, as_of=as_of.date().isoformat()))
    cases = pd.DataFrame(case_rows)
    suppliers = pd.concat(supplier_rows, ignore_index=True) if supplier_rows else pd.DataFrame()
    return Validation(cases, suppliers, supplier_calibration(suppliers), summarise_cases(cases, suppliers))


def _replay_case(
    at: HistoryAt, models: Models, lines: pd.DataFrame, horizon_days: int, runs: int, seed: int
) -> tuple[dict[str, Any], pd.DataFrame]:
    placed = lines.drop(columns=["actual_late"]).reset_index(drop=True)
    pairs = pd.DataFrame(
        {
            "line": np.arange(len(placed)),
            "supplier_id": placed["supplier_id"].to_numpy(),
            "weight_baseline": 1.0,
        }
    )
    inputs, _ = monte_carlo_inputs(placed, pairs, models, at, horizon_days, {})
    figures, per_supplier = assess_case(inputs, lines["actual_late"].to_numpy(), runs, seed)
    names = np.array(sorted(set(pairs["supplier_id"])), dtype=object)
    per_supplier["supplier"] = names[per_supplier["supplier"].to_numpy()]
    return figures, per_supplier


def check_range(history: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    """The quarter starts to replay, or a one-line error when the range holds none."""
    if end < start:
        raise ScenarioInputError(f"--to {end.date()} is before --from {start.date()}")
    starts = quarter_starts(start, end)
    first = history["order_date"].min()
    starts = [s for s in starts if s - pd.Timedelta(days=365) >= first]
    if not starts:
        raise ScenarioInputError(
            f"no quarter start between {start.date()} and {end.date()} has a year of history before it"
            f" (the history starts {first.date()})"
        )
    return starts
