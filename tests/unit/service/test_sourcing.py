"""Sourcing views over hand-made batch tables: filters, sorting, paging, the supplier and category pages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from supplierrisk.service.sourcing import (
    NotFoundError,
    category_view,
    filter_suppliers,
    page,
    sort_suppliers,
    supplier_view,
)

SUPPLIERS = pd.DataFrame(
    {
        "supplier_id": ["A", "B", "C", "D"],
        "supplier_country": ["India", "india", "Germany", None],
        "p_disruption": [0.6, 0.3, 0.3, 0.05],
        "risk_band": ["high", "medium", "medium", "low"],
        "spend": [100.0, np.nan, 300.0, 50.0],
        "otd_rate": [0.7, 0.9, np.nan, 0.8],
    }
)
PAIRS = pd.DataFrame(
    {
        "supplier_id": ["A", "B", "C", "A", "D", "E"],
        "category": ["ARV", "ARV", "ARV", "HRDT", "HRDT", "ARV"],
        "otd_lines": [10, 5, 0, 2, 0, 0],
        "otd_rate": [0.7, 0.95, np.nan, 0.5, np.nan, np.nan],
        "spend": [60.0, 30.0, 10.0, 40.0, 0.0, np.nan],
        "spend_share": [0.6, 0.3, 0.1, 1.0, 0.0, np.nan],
        "p_disruption": [0.6, 0.3, 0.3, 0.6, 0.05, np.nan],
    }
)
CATEGORIES = pd.DataFrame(
    {"category": ["ARV", "HRDT"], "hhi": [4600.0, 10000.0], "single_source": [False, True]}
)
OPEN = pd.DataFrame(
    {
        "supplier_id": ["A", "A", "B"],
        "po_id": ["P1", "P2", "P3"],
        "line_id": ["1", "1", "1"],
        "p_late": [0.2, 0.7, 0.5],
    }
)
TABLES = {"suppliers": SUPPLIERS, "supplier_categories": PAIRS, "categories": CATEGORIES, "open_lines": OPEN}


def ids(frame: pd.DataFrame) -> list[str]:
    return frame["supplier_id"].tolist()


def test_filters_by_category_country_any_case_and_minimum_band() -> None:
    # C has spend in ARV without deliveries; E is in ARV with nothing (and not active).
    assert ids(filter_suppliers(SUPPLIERS, PAIRS, category="ARV")) == ["A", "B", "C"]
    assert ids(filter_suppliers(SUPPLIERS, PAIRS, category="HRDT")) == ["A"]
    assert ids(filter_suppliers(SUPPLIERS, PAIRS, country="INDIA")) == ["A", "B"]
    assert ids(filter_suppliers(SUPPLIERS, PAIRS, min_band="medium")) == ["A", "B", "C"]
    assert ids(filter_suppliers(SUPPLIERS, PAIRS, category="ARV", min_band="high")) == ["A"]
    assert filter_suppliers(SUPPLIERS, PAIRS, category="Nothing").empty
    with pytest.raises(ValueError, match="min_band must be one of"):
        filter_suppliers(SUPPLIERS, PAIRS, min_band="extreme")


def test_sorts_with_missing_last_and_ties_by_id() -> None:
    assert ids(sort_suppliers(SUPPLIERS, "risk")) == ["A", "B", "C", "D"]
    assert ids(sort_suppliers(SUPPLIERS, "risk", descending=False)) == ["D", "B", "C", "A"]
    assert ids(sort_suppliers(SUPPLIERS, "spend")) == ["C", "A", "D", "B"]
    assert ids(sort_suppliers(SUPPLIERS, "otd")) == ["A", "D", "B", "C"]
    with pytest.raises(ValueError, match="sort must be one of"):
        sort_suppliers(SUPPLIERS, "name")


def test_pages_cover_the_list_once() -> None:
    ranked = sort_suppliers(SUPPLIERS, "risk")
    pages = [ids(page(ranked, 3, offset)) for offset in (0, 3, 6)]
    assert pages == [["A", "B", "C"], ["D"], []]


def test_supplier_view_shares_and_open_lines() -> None:
    view = supplier_view(TABLES, "A")
    assert view.risk["p_disruption"] == 0.6
    assert view.categories["category"].tolist() == ["ARV", "HRDT"]
    assert view.categories["share_of_supplier_spend"].tolist() == [0.6, 0.4]
    assert view.categories["share_of_category_spend"].tolist() == [0.6, 1.0]
    assert view.open_lines["po_id"].tolist() == ["P2", "P1"]
    with pytest.raises(NotFoundError, match="supplier 'Z'"):
        supplier_view(TABLES, "Z")


def test_category_view_ranks_alternatives_to_the_incumbent() -> None:
    view = category_view(TABLES, "ARV")
    assert ids(view.suppliers) == ["A", "B", "C"]
    assert view.replacing == "A"
    # Equal risk: the better on-time rate first; no on-time rate last.
    assert ids(view.alternatives) == ["B", "C"]
    assert ids(category_view(TABLES, "ARV", replacing="B").alternatives) == ["C", "A"]
    single = category_view(TABLES, "HRDT")
    assert bool(single.summary["single_source"])
    assert ids(single.alternatives) == []
    with pytest.raises(NotFoundError, match="category 'X'"):
        category_view(TABLES, "X")
    with pytest.raises(NotFoundError, match="does not serve"):
        category_view(TABLES, "HRDT", replacing="B")
