"""Leakage tests: features at t depend only on what was known before t."""

import numpy as np
import pandas as pd
import pytest

from supplierrisk.features import (
    FeatureConfig,
    HistoryIndex,
    build_line_features,
    feature_schema,
    line_feature_arrays,
)
from tests.unit.features.conftest import random_history

CONFIG = FeatureConfig()


def features_at(history: pd.DataFrame, lines: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    categorical, numeric = feature_schema(history)
    index = HistoryIndex(history, CONFIG)
    return build_line_features(index, lines, pd.Series(as_of, index=lines.index), categorical, numeric)


def scramble_after(history: pd.DataFrame, t: pd.Timestamp, seed: int, delete: bool) -> pd.DataFrame:
    """Change or delete every outcome observed on or after t, and every line ordered on or after t."""
    rng = np.random.default_rng(seed)
    changed = history.copy()
    after = changed["delivered_date"] >= t
    if delete:
        changed.loc[after, "delivered_date"] = pd.NaT
        changed.loc[after, "quantity_received"] = np.nan
    else:
        shift = pd.to_timedelta(rng.integers(0, 60, int(after.sum())), unit="D")
        changed.loc[after, "delivered_date"] = changed.loc[after, "delivered_date"] + shift
        changed.loc[after, "quantity_received"] = 0.0
    future = changed["order_date"] >= t
    changed = changed.loc[~future | (rng.random(len(changed)) < 0.5)].copy()
    future = changed["order_date"] >= t
    changed.loc[future, "quantity_ordered"] = 999.0
    changed.loc[future, "promised_date"] = changed.loc[future, "order_date"] + pd.Timedelta(days=3)
    return changed


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("delete", [False, True])
def test_outcomes_after_t_do_not_change_features_at_t(seed: int, delete: bool) -> None:
    history = random_history(seed)
    t = pd.Timestamp("2023-11-15") + pd.Timedelta(days=seed * 17)
    # Score lines ordered before t (as of t) and probe lines with fields of their own.
    lines = history.loc[history["order_date"] < t].sample(40, random_state=seed)
    before = features_at(history, lines, t)
    after = features_at(scramble_after(history, t, seed, delete), lines, t)
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.parametrize("seed", [0, 5])
def test_training_rows_ignore_their_own_and_later_outcomes(seed: int) -> None:
    history = random_history(seed)
    categorical, numeric = feature_schema(history)
    full = build_line_features(
        HistoryIndex(history, CONFIG), history, history["order_date"], categorical, numeric
    )
    # Recompute each probed line's features from a history truncated to what existed at its order date.
    for position in np.random.default_rng(seed).choice(len(history), 15, replace=False):
        line = history.iloc[[position]]
        t = line["order_date"].iloc[0]
        known = history.loc[history["order_date"] < t].copy()
        known.loc[known["delivered_date"] >= t, ["delivered_date", "quantity_received"]] = [pd.NaT, np.nan]
        alone = build_line_features(
            HistoryIndex(pd.concat([known, line]), CONFIG), line, line["order_date"], categorical, numeric
        )
        pd.testing.assert_frame_equal(full.iloc[[position]], alone, check_exact=False, rtol=1e-9)


ONLINE_DAY = pd.Timestamp("2024-03-01")


def batch_features(history: pd.DataFrame) -> tuple[HistoryIndex, pd.DataFrame, pd.DataFrame]:
    """The index, the lines ordered before ``ONLINE_DAY`` and their features as of that day, in one batch."""
    categorical, numeric = feature_schema(history)
    index = HistoryIndex(history, CONFIG)
    lines = history.loc[history["order_date"] < ONLINE_DAY]
    return (
        index,
        lines,
        build_line_features(index, lines, pd.Series(ONLINE_DAY, index=lines.index), categorical, numeric),
    )


def test_batch_and_online_features_are_equal(history: pd.DataFrame) -> None:
    t = ONLINE_DAY
    categorical, numeric = feature_schema(history)
    index, batch_lines, batch = batch_features(history)
    for label in batch_lines.index[:25]:
        one = batch_lines.loc[[label]]
        online = build_line_features(index, one, pd.Series(t, index=one.index), categorical, numeric)
        pd.testing.assert_frame_equal(batch.loc[[label]], online)


def test_online_feature_arrays_equal_batch_features(history: pd.DataFrame) -> None:
    # The API's path: the same features as arrays by name, no frame, for a handful of lines.
    t = ONLINE_DAY
    categorical, numeric = feature_schema(history)
    index, batch_lines, batch = batch_features(history)
    lines = pd.concat(
        [batch_lines.iloc[:40:4], batch_lines.iloc[[0]].assign(supplier_id="NEW", ship_mode=None)]
    )
    arrays = line_feature_arrays(index, lines, np.full(len(lines), t.to_datetime64()), categorical, numeric)
    expected = build_line_features(index, lines, pd.Series(t, index=lines.index), categorical, numeric)
    pd.testing.assert_frame_equal(expected.iloc[:-1], batch.loc[lines.index[:-1]])
    assert list(arrays) == list(expected.columns)
    for name, values in arrays.items():
        if name in categorical:
            assert values.tolist() == expected[name].tolist(), name
        else:
            assert values.dtype == np.float32
            np.testing.assert_array_equal(values, expected[name].to_numpy(), err_msg=name)


def test_unseen_supplier_gets_prior_features(history: pd.DataFrame) -> None:
    categorical, numeric = feature_schema(history)
    line = history.iloc[[0]].assign(supplier_id="NEW", category="unknown-cat")
    feats = build_line_features(
        HistoryIndex(history, CONFIG),
        line,
        pd.Series(pd.Timestamp("2024-04-01"), index=line.index),
        categorical,
        numeric,
    )
    row = feats.iloc[0]
    assert row["sup_known_lines_365d"] == 0
    assert row["sup_late_rate_365d"] == pytest.approx(row["global_late_rate_365d"])
    assert np.isnan(row["sup_days_since_late"])
