"""Validation against a history with known truth: intervals cover what the true process produces."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.scenario import format_validation
from supplierrisk.modeling.dispersion import Dispersion, mean_preserving_logit
from supplierrisk.scenarios.validation import (
    Validation,
    assess_case,
    quarter_starts,
    summarise_cases,
    supplier_calibration,
)
from tests.unit.scenarios.test_simulation import inputs

TRUTH = Dispersion(supplier_week=0.9, period=0.5)


def _case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One quarter's lines from the true process: probabilities, suppliers, and what happened."""
    n = 150
    p = rng.uniform(0.03, 0.35, n)
    supplier = rng.integers(0, 12, n)
    due = rng.uniform(1, 89, n)
    week = supplier * 20 + (due // 7).astype(int)
    shift = (
        rng.standard_normal() * TRUTH.period + rng.standard_normal(week.max() + 1)[week] * TRUTH.supplier_week
    )
    b = mean_preserving_logit(p, TRUTH.total)
    actual = rng.random(n) < 1 / (1 + np.exp(-(b + shift)))
    return p, supplier, actual, due


def _replay(dispersion: Dispersion, cases: int = 80) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(8)
    rows, suppliers = [], []
    for _ in range(cases):
        p, supplier, actual, due = _case(rng)
        case = inputs(
            p,
            supplier,
            {"baseline": np.ones(len(p))},
            p_disruption=np.zeros(12),
            due=due,
            dispersion=dispersion,
        )
        figures, per_supplier = assess_case(case, actual, runs=1000, seed=3)
        rows.append(figures)
        suppliers.append(per_supplier)
    return pd.DataFrame(rows), pd.concat(suppliers, ignore_index=True)


def test_with_the_true_dispersion_p10_p90_covers_about_80_percent_and_the_ratio_is_near_one() -> None:
    cases, suppliers = _replay(TRUTH)
    summary = summarise_cases(cases, suppliers)
    assert summary["cases"] == 80
    assert 0.70 <= summary["coverage_p10_p90"] <= 0.90
    assert 0.85 <= summary["mean_actual_over_expected"] <= 1.15
    table = supplier_calibration(suppliers)
    assert table["supplier_cases"].sum() == len(suppliers)
    # Per-supplier expected late lines are calibrated too: each bin's actual mean near its expected.
    assert np.allclose(table["mean_actual"], table["mean_expected"], rtol=0.35, atol=0.3)


def test_treating_clustered_lines_as_independent_gives_intervals_too_narrow() -> None:
    cases, suppliers = _replay(Dispersion(0.0, 0.0))
    assert summarise_cases(cases, suppliers)["coverage_p10_p90"] < 0.65


def test_quarter_starts_in_a_range() -> None:
    days = quarter_starts(pd.Timestamp("2012-02-15"), pd.Timestamp("2012-12-31"))
    assert [d.date().isoformat() for d in days] == ["2012-04-01", "2012-07-01", "2012-10-01"]


def test_the_validation_text_states_the_summary_against_the_targets_and_each_case() -> None:
    cases, suppliers = _replay(TRUTH, cases=6)
    cases = cases.assign(category="C", as_of="2020-03-31")
    validation = Validation(
        cases, suppliers, supplier_calibration(suppliers), summarise_cases(cases, suppliers)
    )
    text = format_validation(validation)
    summary = validation.summary
    coverage, ratio = summary["coverage_p10_p90"], summary["mean_actual_over_expected"]
    assert text.splitlines()[0] == (
        f"cases 6: P10-P90 coverage {coverage:.2f} (target 0.70-0.90), mean actual/expected"
        f" {ratio:.2f} (target 0.85-1.15), pooled {summary['pooled_actual_over_expected']:.2f}"
    )
    assert sum(line.startswith("  C ") for line in text.splitlines()) == 6
    empty = Validation(
        cases.iloc[:0], suppliers.iloc[:0], supplier_calibration(suppliers.iloc[:0]), {"cases": 0}
    )
    assert format_validation(empty).startswith("no case")
