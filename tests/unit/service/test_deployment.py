"""Deployment pieces that need no registry: backtest summaries, the latest batch, the store stamp."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from supplierrisk.batch import folders
from supplierrisk.batch.compute import TABLES
from supplierrisk.service.deployment import (
    StoreState,
    backtest_summary,
    latest_batch_id,
    load_batch,
    rows_by,
    store_stamp,
)


def test_backtest_summary_groups_mean_metrics_by_model() -> None:
    metrics = {
        "mean_roc_auc": 0.8,
        "mean_brier": 0.1,
        "global_rate_mean_roc_auc": 0.5,
        "global_rate_mean_brier": 0.12,
        "fold0_model_roc_auc": 0.7,
        "best_baseline_roc_auc": 0.6,
        "logistic_regression_mean_ece": 0.02,
    }
    assert backtest_summary(metrics) == {
        "model": {"roc_auc": 0.8, "brier": 0.1},
        "global_rate": {"roc_auc": 0.5, "brier": 0.12},
        "logistic_regression": {"ece": 0.02},
    }


def test_load_batch_follows_latest_and_reads_tables_and_drift(tmp_path: Path) -> None:
    root = tmp_path / "batches"
    assert load_batch(root) is None
    assert latest_batch_id(root) is None
    folder = root / "20240101-abc"
    folder.mkdir(parents=True)
    for name in TABLES:
        pd.DataFrame({"supplier_id": ["S1"]}).to_parquet(folder / f"{name}.parquet")
    (folder / folders.DRIFT_JSON).write_text(json.dumps({"alert": False}), encoding="utf-8")
    (folder / folders.MANIFEST).write_text(json.dumps({"batch_id": "20240101-abc", "as_of": "2024-01-01"}))
    # LATEST written last: until then no batch is visible.
    assert load_batch(root) is None
    folders.set_latest(root, "20240101-abc")
    batch = load_batch(root)
    assert batch is not None
    assert batch.batch_id == latest_batch_id(root) == "20240101-abc"
    assert batch.as_of == pd.Timestamp("2024-01-01")
    assert set(batch.tables) == set(TABLES)
    assert batch.drift == {"alert": False}
    assert batch.drift_html() is None
    (folder / folders.DRIFT_SUPPLIERS_HTML).write_text("<html></html>", encoding="utf-8")
    assert batch.drift_html("disruption") == folder / folders.DRIFT_SUPPLIERS_HTML


def test_store_stamp_changes_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "store.parquet"
    assert store_stamp(path) == (0, 0)
    path.write_bytes(b"x")
    first = store_stamp(path)
    path.write_bytes(b"xy")
    assert store_stamp(path) != first


def test_store_rows_by_supplier_and_category_pick_the_right_lines() -> None:
    history = pd.DataFrame(
        {
            "supplier_id": ["A", "B", "A", "C", "A"],
            "category": ["ARV", "ARV", "HRDT", None, "ARV"],
            "po_id": ["1", "2", "3", "4", "5"],
        }
    )
    by_supplier = rows_by(history["supplier_id"])
    by_category = rows_by(history["category"])
    assert {k: v.tolist() for k, v in by_supplier.items()} == {"A": [0, 2, 4], "B": [1], "C": [3]}
    assert {k: v.tolist() for k, v in by_category.items()} == {"ARV": [0, 1, 4], "HRDT": [2]}  # no None
    store = StoreState(history, None, by_supplier, by_category)  # type: ignore[arg-type]
    assert store.lines_of("ARV")["po_id"].tolist() == ["1", "2", "5"]
    assert store.lines_of("ARV", ["A", "Z"])["po_id"].tolist() == ["1", "5"]
    assert store.lines_of("ARV", []).empty
    assert store.lines_of("Nothing").empty


def test_memo_computes_once_per_key_and_keeps_a_bounded_number(monkeypatch: pytest.MonkeyPatch) -> None:
    from supplierrisk.service import deployment as module

    monkeypatch.setattr(module, "MEMO_SIZE", 2)
    current = module.Deployment({}, {}, None, None, pd.Timestamp("2024-01-01"))
    calls: list[str] = []

    def make(key: str) -> str:
        calls.append(key)
        return key.upper()

    assert current.memo("a", lambda: make("a")) == "A"
    assert current.memo("a", lambda: make("a")) == "A"
    current.memo("b", lambda: make("b"))
    current.memo("c", lambda: make("c"))  # "a" is dropped, the oldest
    assert current.memoized("a") is None
    current.memo("a", lambda: make("a"))
    assert calls == ["a", "b", "c", "a"]
    assert current.memoized("a") == "A"
    assert current.memoized("b") is None  # dropped when "a" came back
