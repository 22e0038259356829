"""Re-assignment by shares and shifts: hand-computed weights per (line, supplier)."""

from __future__ import annotations

import pandas as pd
import pytest

from supplierrisk.scenarios import Allocation, ScenarioInputError, Shift, SupplierOptions
from supplierrisk.scenarios.allocation import allocate
from supplierrisk.scenarios.template import supplier_facts


def _known() -> pd.DataFrame:
    day = pd.Timestamp("2024-01-10")
    rows = [
        ("P1", "1", "A", "X", 1.0, 100.0),
        ("P1", "2", "A", "Y", 1.0, 100.0),
        ("P2", "1", "B", "X", 2.0, 100.0),
        ("P3", "1", "C", "X", 1.0, 90.0),
    ]
    return pd.DataFrame(
        {
            "po_id": [r[0] for r in rows],
            "line_id": [r[1] for r in rows],
            "supplier_id": [r[2] for r in rows],
            "item_id": [r[3] for r in rows],
            "quantity_ordered": [r[4] for r in rows],
            "unit_price": [r[5] for r in rows],
            "category": "Cat",
            "order_date": day,
            "promised_date": day + pd.Timedelta(days=20),
            "delivered_date": day + pd.Timedelta(days=18),
            "supplier_name": [r[2] for r in rows],
            "supplier_country": "NL",
        }
    )


def _weights(pairs: pd.DataFrame, arm: str) -> dict[tuple[int, str], float]:
    return {(int(r.line), r.supplier_id): round(getattr(r, f"weight_{arm}"), 9) for r in pairs.itertuples()}


def test_target_shares_move_the_same_fraction_of_each_losing_line() -> None:
    known = _known()
    template = known.iloc[:3].reset_index(drop=True)  # A: 200 of value, B: 200; C serves nothing yet
    facts = supplier_facts(known, pd.Timestamp("2024-03-01"))
    placements = allocate(
        template, Allocation(shares={"A": 0.25, "B": 0.5, "C": 0.25}), SupplierOptions(), facts
    )
    # A falls from 50% to 25%: half of each of its lines goes to C, the only supplier gaining.
    assert _weights(placements.pairs, "scenario") == {
        (0, "A"): 0.5,
        (0, "C"): 0.5,
        (1, "A"): 0.5,
        (1, "C"): 0.5,
        (2, "B"): 1.0,
    }
    assert _weights(placements.pairs, "baseline") == {
        (0, "A"): 1,
        (0, "C"): 0,
        (1, "A"): 1,
        (1, "C"): 0,
        (2, "B"): 1,
    }


def test_a_shift_moves_its_share_of_every_line_of_the_giver() -> None:
    known = _known()
    template = known.iloc[:3].reset_index(drop=True)
    facts = supplier_facts(known, pd.Timestamp("2024-03-01"))
    placements = allocate(template, Allocation(shifts=(Shift("A", "B", 0.3),)), SupplierOptions(), facts)
    assert _weights(placements.pairs, "scenario") == {
        (0, "A"): 0.7,
        (0, "B"): 0.3,
        (1, "A"): 0.7,
        (1, "B"): 0.3,
        (2, "B"): 1.0,
    }


def test_an_excluded_item_stays_with_its_supplier_and_says_so() -> None:
    known = _known()
    template = known.iloc[:3].reset_index(drop=True)
    facts = supplier_facts(known, pd.Timestamp("2024-03-01"))
    options = SupplierOptions(excluded_items={"B": frozenset({"Y"})})
    placements = allocate(template, Allocation(shifts=(Shift("A", "B", 0.3),)), options, facts)
    weights = _weights(placements.pairs, "scenario")
    assert weights[(1, "A")] == 1.0
    assert (1, "B") not in weights
    assert placements.warnings == ["1 line(s) of 'A' stay: 'B' may not take their items"]


def test_an_unknown_supplier_is_refused_by_name() -> None:
    known = _known()
    facts = supplier_facts(known, pd.Timestamp("2024-03-01"))
    with pytest.raises(ScenarioInputError, match="unknown supplier.*'Nobody'"):
        allocate(known, Allocation(shifts=(Shift("A", "Nobody", 0.3),)), SupplierOptions(), facts)


def test_supplier_facts_hold_recent_prices_and_what_each_delivered() -> None:
    facts = supplier_facts(_known(), pd.Timestamp("2024-03-01"))
    assert facts.recent_price[("C", "X")] == 90.0
    assert ("A", "Y") in facts.served_items
    assert ("C", "Y") not in facts.served_items
    assert facts.peak_weekly_lines["A"] == 2.0
    assert facts.knows("B")
    assert not facts.knows("Z")


def test_gainers_take_the_items_they_have_delivered_first() -> None:
    known = _known()
    # D has delivered item Y only, C item X only; A (items X and Y) gives up everything.
    extra = known.iloc[[1]].assign(po_id="P4", supplier_id="D", supplier_name="D")
    known = pd.concat([known, extra], ignore_index=True)
    template = known.iloc[:2].reset_index(drop=True)  # A's two lines: X (line 0) and Y (line 1)
    facts = supplier_facts(known, pd.Timestamp("2024-03-01"))
    placements = allocate(template, Allocation(shares={"C": 0.5, "D": 0.5}), SupplierOptions(), facts)
    assert _weights(placements.pairs, "scenario") == {
        (0, "A"): 0.0,
        (0, "C"): 1.0,
        (1, "A"): 0.0,
        (1, "D"): 1.0,
    }


def test_a_line_of_no_value_moves_by_its_suppliers_fraction() -> None:
    known = _known()
    known.loc[1, "unit_price"] = 0.0  # A's second line is free of charge
    template = known.iloc[:3].reset_index(drop=True)
    facts = supplier_facts(known, pd.Timestamp("2024-03-01"))
    placements = allocate(
        template, Allocation(shares={"A": 0.5, "B": 0.25, "C": 0.25}), SupplierOptions(), facts
    )
    weights = _weights(placements.pairs, "scenario")
    # A (100 of 300, its free line counting 0) gains, so its lines stay whole. B falls from 2/3 to
    # 1/4: 62.5% of its line goes, 50 of value (0.25 of it) to A and 75 (0.375) to C.
    assert weights[(1, "A")] == 1.0
    assert weights[(2, "A")] == 0.25
    assert weights[(2, "C")] == 0.375
    assert weights[(2, "B")] == 0.375


def test_a_free_line_of_a_losing_supplier_still_counts_once() -> None:
    known = _known()
    known.loc[1, "unit_price"] = 0.0
    template = known.iloc[:3].reset_index(drop=True)
    facts = supplier_facts(known, pd.Timestamp("2024-03-01"))
    placements = allocate(template, Allocation(shares={"B": 0.5, "C": 0.5}), SupplierOptions(), facts)
    totals = placements.pairs.groupby("line")["weight_scenario"].sum()
    assert totals.round(12).tolist() == [1.0, 1.0, 1.0]
    weights = _weights(placements.pairs, "scenario")
    assert weights[(1, "A")] == 0.0
