"""The ingest plan's checks: each refusal, its threshold and its override."""

import pandas as pd
import pytest

from supplierrisk.ingest import IngestOptions, Source, plan_ingest, to_canonical
from supplierrisk.ingest.mapping import parse_mapping
from supplierrisk.schema import empty_history

COLUMNS = {"po_id": "PO", "supplier_id": "Vendor", "order_date": "Ordered", "promised_date": "Due"}


def source(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["PO", "Vendor", "Ordered", "Due"])


def plan(
    raw: pd.DataFrame, store: pd.DataFrame | None = None, formats: dict | None = None, **options: object
):
    mapping = parse_mapping({"columns": COLUMNS, "date_formats": formats or {}}, "m")
    conversion = to_canonical(raw, mapping, "export.csv")
    existing = empty_history() if store is None else store
    return plan_ingest(Source(raw, "csv"), conversion, existing, IngestOptions(**options))


def good(n: int, due: str = "2024-03-01") -> list[tuple[str, str, str, str]]:
    return [(f"P{i}", "V1", "2024-01-02", due) for i in range(n)]


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="max-reject-share must be between 0 and 1"):
        IngestOptions(max_reject_share=1.5)


def test_reject_share_refuses_above_the_limit_only() -> None:
    rows = good(19) + [("P99", "V1", "not a date", "2024-03-01")]
    assert not plan(source(rows)).refused  # 1 of 20 = 5%: at the limit
    refused = plan(source(rows[1:]))  # 1 of 19
    assert [r.check for r in refused.refusals] == ["reject_share"]
    assert "5% of 19 rows rejected (1 unparseable_date)" in refused.refusals[0].message
    assert not plan(source(rows[1:]), max_reject_share=0.1).refused


def test_day_month_swap_refuses_unless_trusted() -> None:
    days = pd.date_range("2023-01-01", periods=60, freq="5D")
    rows = [(f"P{i}", "V1", d.strftime("%m/%d/%Y"), "2024-06-01") for i, d in enumerate(days)]
    formats = {"order_date": "%d/%m/%Y"}
    refused = plan(source(rows), formats=formats, max_reject_share=1.0)
    assert [r.check for r in refused.refusals] == ["date_format"]
    assert "date_formats.order_date: '%m/%d/%Y'" in refused.refusals[0].message
    assert not plan(source(rows), formats=formats, max_reject_share=1.0, trust_date_formats=True).refused


def store_of(n: int) -> pd.DataFrame:
    return plan(source(good(n))).upsert.merged


def test_order_time_change_refuses_with_examples_unless_allowed() -> None:
    store = store_of(10)
    rows = good(10)
    rows[3] = ("P3", "V2", "2024-01-02", "2024-03-01")
    refused = plan(source(rows), store)
    assert [r.check for r in refused.refusals] == ["history_rewrite"]
    message = refused.refusals[0].message
    assert "supplier_id on 1 stored lines (e.g. P3/1 V1 -> V2)" in message
    assert "--allow-history-rewrite" in message
    assert not plan(source(rows), store, allow_history_rewrite=True).refused


def test_a_few_moved_promises_pass_and_many_refuse() -> None:
    store = store_of(40)
    rows = good(40)
    for i in range(3):
        rows[i] = (f"P{i}", "V1", "2024-01-02", "2024-03-05")
    # 3 of 40 moved (7.5%): re-confirmations here and there.
    assert not plan(source(rows), store).refused
    rows = good(40, due="2024-03-05")
    refused = plan(source(rows), store)
    assert "promised_date moved (100% of matched lines) on 40 stored lines" in refused.refusals[0].message
    assert not plan(source(rows), store, max_promise_change_share=1.0).refused
