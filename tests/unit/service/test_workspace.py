"""Workspace tables over hand-made batch tables: category roll-ups, side-by-side suppliers, open lines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from supplierrisk.batch.compute import PAIR_KPIS
from supplierrisk.kpis import KpiParams, compute_kpis
from supplierrisk.service.sourcing import NotFoundError, category_view, sort_frame
from supplierrisk.service.workspace import (
    LineFilter,
    alternatives,
    category_kpis,
    category_rows,
    category_suppliers,
    check_window,
    concentration,
    history_summary,
    home_table,
    open_lines,
    supplier_alternatives,
    supplier_row,
    with_band,
)

AS_OF = pd.Timestamp("2024-06-30")
SUPPLIERS = pd.DataFrame(
    {
        "supplier_id": ["A", "B", "C", "D"],
        "p_disruption": [0.6, 0.3, 0.2, 0.05],
        "risk_score": [60, 30, 20, 5],
        "risk_band": ["high", "medium", "medium", "low"],
        "otd_rate": [0.7, 0.9, np.nan, 0.8],
    }
)
PAIRS = pd.DataFrame(
    {
        "supplier_id": ["A", "B", "C", "A", "D"],
        "category": ["ARV", "ARV", "ARV", "HRDT", "HRDT"],
        "otd_lines": [10, 5, 0, 2, 3],
        "otd_rate": [0.7, 0.95, np.nan, 0.5, 1.0],
        "otif_lines": [0, 0, 0, 0, 0],
        "otif_rate": [np.nan] * 5,
        "spend": [60.0, 30.0, 10.0, 40.0, 10.0],
        "spend_share": [0.6, 0.3, 0.1, 0.8, 0.2],
        "p_disruption": [0.6, 0.3, 0.2, 0.6, 0.05],
        "risk_score": [60, 30, 20, 60, 5],
        "risk_band": ["high", "medium", "medium", "high", "low"],
    }
)
# Every KPI column a batch carries, with lines behind each but OTIF (none in this history).
PAIRS = PAIRS.reindex(columns=[*PAIRS.columns, *(c for c in PAIR_KPIS if c not in PAIRS)])
for _count in ("delivered_lines", "fill_lines", "reject_lines", "ipv_lines", "spend_lines"):
    PAIRS[_count] = 1
CATEGORIES = pd.DataFrame(
    {
        "category": ["ARV", "HRDT"],
        "spend": [100.0, 50.0],
        "otd_lines": [15, 5],
        "otd_rate": [0.8, 0.8],
        "hhi": [4600.0, 6800.0],
        "single_source": [False, False],
        "n_suppliers": [3, 2],
    }
)
OPEN = pd.DataFrame(
    {
        "supplier_id": ["A", "A", "B", "D"],
        "category": ["ARV", "HRDT", "ARV", "HRDT"],
        "po_id": ["P1", "P2", "P3", "P4"],
        "line_id": ["1", "1", "1", "1"],
        "promised_date": pd.to_datetime(["2024-07-05", "2024-08-30", "2024-07-20", "2024-07-01"]),
        "p_late": [0.2, 0.7, 0.5, 0.1],
        "risk_band": ["medium", "high", "high", "low"],
    }
)
TABLES = {"suppliers": SUPPLIERS, "supplier_categories": PAIRS, "categories": CATEGORIES, "open_lines": OPEN}


def test_category_rows_count_bands_of_active_suppliers_and_open_lines_at_risk() -> None:
    rows = category_rows(TABLES).set_index("category")
    # ARV: A high, B and C medium (C has spend, no deliveries: still active). HRDT: A high, D low.
    assert rows.loc["ARV", ["suppliers_high", "suppliers_medium", "suppliers_low"]].tolist() == [1, 2, 0]
    assert rows.loc["HRDT", ["suppliers_high", "suppliers_medium", "suppliers_low"]].tolist() == [1, 0, 1]
    # At risk = medium or high: ARV has P1 (medium) and P3 (high); HRDT only P2 (P4 is low).
    assert rows.loc["ARV", "open_lines_at_risk"] == 2
    assert rows.loc["HRDT", "open_lines_at_risk"] == 1


def test_home_table_sorts_by_spend_then_any_column_with_missing_last() -> None:
    assert home_table(TABLES).rows["category"].tolist() == ["ARV", "HRDT"]
    assert home_table(TABLES, "hhi").rows["category"].tolist() == ["HRDT", "ARV"]
    assert home_table(TABLES, "category", descending=True).rows["category"].tolist() == ["HRDT", "ARV"]
    with pytest.raises(ValueError, match="sort must be one of"):
        home_table(TABLES, "drivers_json")


def test_sort_frame_puts_missing_last_both_ways_and_breaks_ties() -> None:
    frame = pd.DataFrame(
        {"id": ["b", "a", "c", "d"], "x": [1.0, 1.0, np.nan, 2.0], "t": ["z", "Y", None, "x"]}
    )
    assert sort_frame(frame, "x", descending=True)["id"].tolist() == ["d", "a", "b", "c"]
    assert sort_frame(frame, "x", descending=False)["id"].tolist() == ["a", "b", "d", "c"]
    # Text sorts without case; missing text goes last too.
    assert sort_frame(frame, "t", descending=False)["id"].tolist() == ["d", "a", "b", "c"]


def test_category_suppliers_side_by_side_with_band_filter_and_lines_at_risk() -> None:
    table = category_suppliers(TABLES, category_view(TABLES, "ARV"))
    assert table.rows["supplier_id"].tolist() == ["A", "B", "C"]  # by spend share
    assert table.rows["open_lines_at_risk"].tolist() == [1, 1, 0]
    assert with_band(table, "medium").rows["supplier_id"].tolist() == ["B", "C"]
    assert with_band(table, None) is table
    with pytest.raises(ValueError, match="band must be one of"):
        with_band(table, "severe")
    with pytest.raises(NotFoundError):
        category_view(TABLES, "Nothing")


def test_a_chosen_window_replaces_the_batch_kpis() -> None:
    kpis = pd.DataFrame(
        {
            "supplier_id": ["A", "B"],
            "otd_lines": [3, 0],
            "otd_rate": [1 / 3, np.nan],
            "spend_share": [0.9, 0.1],
        }
    ).reindex(columns=["supplier_id", *PAIR_KPIS])  # as category_kpis returns it
    rows = category_suppliers(TABLES, category_view(TABLES, "ARV"), kpis).rows.set_index("supplier_id")
    assert rows.loc["A", "otd_rate"] == pytest.approx(1 / 3)
    assert rows.loc["A", "otd_lines"] == 3
    assert np.isnan(rows.loc["B", "otd_rate"])  # the batch said 0.95; the window has no evaluated line
    # C has no line at all in the chosen window: no figures, not the batch's.
    assert np.isnan(rows.loc["C", "otd_rate"])
    assert rows.loc["C", "risk_band"] == "medium"  # risk still comes from the batch


def test_a_kpi_without_data_on_any_row_is_noted_once() -> None:
    table = category_suppliers(TABLES, category_view(TABLES, "ARV"))
    assert len(table.notes) == 1
    assert table.notes[0].startswith("OTIF: insufficient data on every row")


def test_alternatives_and_concentration_follow_the_category_view() -> None:
    # The incumbent is A (largest spend); alternatives by lowest risk: C (0.2), then B (0.3).
    view = category_view(TABLES, "ARV")
    assert alternatives(view).rows["supplier_id"].tolist() == ["C", "B"]
    assert alternatives(view).title == "Alternatives to A"
    facts = concentration(view)
    assert facts == {
        "hhi": 4600.0,
        "single_source": False,
        "n_suppliers": 3,
        "top_supplier": "A",
        "top_share": 0.6,
    }
    by_category = supplier_alternatives(TABLES, "A").rows
    assert by_category[["category", "supplier_id"]].values.tolist() == [
        ["ARV", "C"],
        ["ARV", "B"],
        ["HRDT", "D"],
    ]


def test_open_lines_filter_by_category_band_due_date_and_supplier() -> None:
    def ids(chosen: LineFilter) -> list[str]:
        return open_lines(TABLES, AS_OF, chosen).rows["po_id"].tolist()

    assert ids(LineFilter()) == ["P2", "P3", "P1", "P4"]  # highest p_late first
    assert ids(LineFilter(category="ARV")) == ["P3", "P1"]
    assert ids(LineFilter(min_band="high")) == ["P2", "P3"]
    assert ids(LineFilter(min_band="medium", category="HRDT")) == ["P2"]
    # Due within 5 days of 2024-06-30: promised by 2024-07-05.
    assert ids(LineFilter(due_within_days=5)) == ["P1", "P4"]
    assert ids(LineFilter(supplier_id="A")) == ["P2", "P1"]
    with pytest.raises(ValueError, match="due within must be 0 days or more"):
        open_lines(TABLES, AS_OF, LineFilter(due_within_days=-1))
    with pytest.raises(ValueError, match="band must be one of"):
        open_lines(TABLES, AS_OF, LineFilter(min_band="urgent"))


def test_window_and_unknown_supplier_errors() -> None:
    assert check_window(90) == 90
    for days in (0, 6, 3651):
        with pytest.raises(ValueError, match="window must be 7 to 3650 days"):
            check_window(days)
    with pytest.raises(NotFoundError, match="not active"):
        supplier_row(TABLES, "Z")


def _history() -> pd.DataFrame:
    day = pd.Timestamp
    return pd.DataFrame(
        {
            "po_id": ["1", "2", "3", "4"],
            "line_id": ["1", "1", "1", "1"],
            "supplier_id": ["A", "A", "B", "A"],
            "category": ["ARV", "ARV", "ARV", "HRDT"],
            "order_date": [day("2024-01-01"), day("2024-03-01"), day("2024-03-01"), day("2024-05-01")],
            "promised_date": [day("2024-02-01"), day("2024-04-01"), day("2024-04-01"), day("2024-06-01")],
            "delivered_date": [day("2024-02-01"), day("2024-04-03"), day("2024-03-30"), pd.NaT],
            "quantity_ordered": [10.0, 10.0, 5.0, 4.0],
            "unit_price": [2.0, 3.0, 1.0, 5.0],
        }
    )


def test_category_kpis_are_compute_kpis_on_the_category_lines() -> None:
    history = _history()
    table = category_kpis(history, "ARV", AS_OF, 180, KpiParams()).set_index("supplier_id")
    # A in ARV: lines 1 (on time) and 2 (two days late) -> OTD 1/2; spend 20 + 30 of ARV's 55.
    assert table.loc["A", "otd_lines"] == 2
    assert table.loc["A", "otd_rate"] == pytest.approx(0.5)
    assert table.loc["A", "spend_share"] == pytest.approx(50 / 55)
    direct = compute_kpis(history, AS_OF, 180, ["supplier_id", "category"]).table
    row = direct.loc[(direct["supplier_id"] == "A") & (direct["category"] == "ARV")].iloc[0]
    assert table.loc["A", "otd_rate_lo"] == pytest.approx(row["otd_rate_lo"])
    # Lines that are the category's already (the service passes the store's rows of the category).
    only = history.loc[history["category"] == "ARV"]
    pd.testing.assert_frame_equal(
        category_kpis(only, "ARV", AS_OF, 180, KpiParams()).set_index("supplier_id"), table
    )
    with pytest.raises(ValueError, match="window must be"):
        category_kpis(history, "ARV", AS_OF, 3, KpiParams())


def test_history_summary_of_a_supplier() -> None:
    history = _history()
    summary = history_summary(history, np.array([0, 1, 3]))
    assert summary == {
        "first_order": pd.Timestamp("2024-01-01"),
        "last_order": pd.Timestamp("2024-05-01"),
        "lines": 3,
        "spend": 70.0,
        "spend_note": "",
    }
    assert history_summary(None, None) is None
    mixed = history.assign(currency=["USD", "EUR", "USD", "USD"])
    assert history_summary(mixed, np.array([0, 1]))["spend"] is None


def test_monitoring_tables_mark_the_served_candidate_and_keep_every_model() -> None:
    from supplierrisk.service.deployment import ModelCard
    from supplierrisk.service.workspace import backtest_table, drift_table, feedback_table

    card = ModelCard(
        kind="otd",
        name="supplierrisk-otd",
        alias="champion",
        version="3",
        run_id="r",
        training_as_of="2024-06-30",
        data_window="2022-01-01..2024-06-30",
        gate_decision="promote",
        backtest={"model": {"roc_auc": 0.8, "brier": 0.1}, "global_rate": {"roc_auc": 0.5, "brier": 0.12}},
        served_candidate="global_rate",
    )
    table = backtest_table(card)
    assert table.name == "backtest_otd_champion"
    assert table.rows[["candidate", "served", "roc_auc"]].values.tolist() == [
        ["model", False, 0.8],
        ["global_rate", True, 0.5],
    ]
    assert np.isnan(table.rows.loc[0, "ece"])  # not logged: shown as missing, never 0
    drift = drift_table(
        {"otd": {"features_drifted": 3, "features_compared": 10, "alert": True, "prediction": {"psi": 0.3}}}
    )
    assert drift.rows[["model", "features_drifted", "psi", "alert"]].values.tolist() == [
        ["otd", 3, 0.3, True]
    ]
    assert drift_table(None).rows.empty
    report = {
        "batches": [
            {
                "as_of": "2024-01-01",
                "model": "otd",
                "version": "2",
                "n": 40,
                "roc_auc": 0.7,
                "degraded": True,
                "reasons": ["AUC 0.70 < 0.80 - 0.05", "Brier"],
            }
        ]
    }
    feedback = feedback_table(report).rows.iloc[0]
    assert feedback["reasons"] == "AUC 0.70 < 0.80 - 0.05; Brier"
    assert feedback["n"] == 40
    assert feedback_table(None).rows.empty


def test_bands_sort_by_rank_not_by_name() -> None:
    table = category_suppliers(TABLES, category_view(TABLES, "ARV"))
    assert table.sorted_by("risk_band").rows["risk_band"].tolist() == ["high", "medium", "medium"]
    assert table.sorted_by("risk_band", descending=False).rows["risk_band"].tolist() == [
        "medium",
        "medium",
        "high",
    ]


def test_a_column_the_batch_lacks_is_empty_and_said_to_be_missing() -> None:
    old_batch = {**TABLES, "supplier_categories": PAIRS.drop(columns=["otif_rate", "otif_lines"])}
    table = category_suppliers(old_batch, category_view(old_batch, "ARV"))
    assert table.rows["otif_rate"].isna().all()
    assert table.notes[0].startswith("OTIF: not in this batch")
    assert table.sorted_by("otif_rate").rows["supplier_id"].tolist() == ["A", "B", "C"]  # all missing: by id
