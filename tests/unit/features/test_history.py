"""The few-row paths of the history index: dictionary group codes and the history cache, exact."""

import numpy as np
import pandas as pd
import pytest

from supplierrisk.features import FeatureConfig, HistoryIndex, line_feature_arrays
from supplierrisk.features.events import FEW_QUERIES
from supplierrisk.features.history import GroupCoder, HistoryArrays, HistoryCache, history_arrays

KEYS = pd.DataFrame(
    {
        "supplier_id": ["A", "A", "B", "C", "B", None],
        "ship_mode": ["Air", "Sea", "Air", None, "Sea", "Air"],
    }
)


def test_small_queries_get_the_same_codes_as_large_ones() -> None:
    coder = GroupCoder(KEYS)
    queries = pd.DataFrame(
        {
            "supplier_id": ["A", "B", "C", "Z", None, "A", "B", "C"],
            "ship_mode": ["Air", "Sea", None, "Air", "Air", "Rail", "Air", "Air"],
        }
    )
    large = pd.concat([queries] * (FEW_QUERIES // len(queries) + 1), ignore_index=True)
    assert len(large) > FEW_QUERIES
    expected = coder.codes(large)[: len(queries)]
    np.testing.assert_array_equal(coder.codes(queries), expected)
    # Seen pairs get distinct codes; unseen pairs, unseen values and missing values get -1.
    assert len(set(expected[[0, 1]])) == 2
    assert (expected[[0, 1]] >= 0).all()
    assert (expected[2:6] == -1).all()
    assert expected[6] == coder.codes(pd.DataFrame({"supplier_id": ["B"], "ship_mode": ["Air"]}))[0] >= 0
    # C was only seen without a mode, so (C, Air) is unseen.
    assert expected[7] == -1


def test_keys_read_from_a_mapping_and_an_absent_column_is_missing() -> None:
    coder = GroupCoder(KEYS)
    frame = pd.DataFrame({"supplier_id": ["A", "B"], "ship_mode": ["Air", "Sea"]})
    arrays = {
        "supplier_id": np.array(["A", "B"], dtype=object),
        "ship_mode": np.array(["Air", "Sea"], dtype=object),
    }
    np.testing.assert_array_equal(coder.codes(arrays), coder.codes(frame))
    np.testing.assert_array_equal(coder.codes({"supplier_id": np.array(["A", "B"], dtype=object)}), [-1, -1])
    supplier = GroupCoder(KEYS[["supplier_id"]])
    np.testing.assert_array_equal(supplier.codes(frame), supplier.codes(frame.assign(ship_mode=None)))


def test_codes_from_fitting_equal_codes_queried_afterwards() -> None:
    keys = pd.concat([KEYS] * 40, ignore_index=True).assign(
        ship_mode=lambda k: k["ship_mode"].where(k.index % 7 > 0)
    )
    assert len(keys) > FEW_QUERIES
    coder, codes = GroupCoder.with_codes(keys)
    np.testing.assert_array_equal(codes, coder.codes(keys), strict=True)
    np.testing.assert_array_equal(codes, GroupCoder(keys).codes(keys), strict=True)
    # Levels in order of first appearance, without missing values; a row with any missing key is -1.
    # (row 0's mode is masked, so "Sea" appears first.)
    assert [list(level) for level in coder.levels] == [["A", "B", "C"], ["Sea", "Air"]]
    assert (codes[keys.isna().any(axis=1).to_numpy()] == -1).all()
    assert (codes[keys.notna().all(axis=1).to_numpy()] >= 0).all()
    coder.share_with_threads()
    np.testing.assert_array_equal(coder.codes(keys.head(3)), codes[:3], strict=True)


def _assert_same(cached: HistoryArrays, direct: HistoryArrays) -> None:
    assert list(cached.supplier) == list(direct.supplier)
    assert list(cached.usual) == list(direct.usual)
    for name, values in direct.supplier.items():
        np.testing.assert_array_equal(cached.supplier[name], values, err_msg=name, strict=True)
    for name, values in direct.usual.items():
        np.testing.assert_array_equal(cached.usual[name], values, err_msg=name, strict=True)
    np.testing.assert_array_equal(cached.lane_lead_time, direct.lane_lead_time, strict=True)


def test_history_cache_answers_exactly_what_the_index_computes(history: pd.DataFrame) -> None:
    as_of = pd.Timestamp("2024-03-01")
    index = HistoryIndex(history, FeatureConfig())
    cache = HistoryCache(index, as_of)
    lines = pd.concat(
        [
            history.sample(30, random_state=0),
            history.head(3).assign(supplier_id="NEW"),
            history.head(3).assign(category=None, ship_mode=np.nan),
        ]
    )
    day = np.full(len(lines), as_of.to_datetime64())
    direct = history_arrays(index, lines, day)
    _assert_same(cache.arrays(lines), direct)
    # Second time from the cache alone, in another order and as arrays by name.
    order = np.arange(len(lines))[::-1]
    by_name = {c: lines[c].to_numpy()[order] for c in lines.columns}
    _assert_same(cache.arrays(by_name), history_arrays(index, lines.iloc[order], day))
    # Queries without a group column have fewer features, and are cached apart.
    without_country = lines.drop(columns=["supplier_country"])
    _assert_same(cache.arrays(without_country), history_arrays(index, without_country, day))
    assert "country_late_rate_365d" not in cache.arrays(without_country).supplier


def test_history_cache_refuses_other_days_and_indexes(history: pd.DataFrame) -> None:
    index = HistoryIndex(history, FeatureConfig())
    cache = HistoryCache(index, pd.Timestamp("2024-03-01"))
    lines = history.head(2)
    other_day = np.full(2, pd.Timestamp("2024-03-02").to_datetime64())
    with pytest.raises(ValueError, match="another index or as-of day"):
        line_feature_arrays(index, lines, other_day, [], [], cache)
    same_day = np.full(2, cache.as_of.to_datetime64())
    with pytest.raises(ValueError, match="another index or as-of day"):
        line_feature_arrays(HistoryIndex(history, FeatureConfig()), lines, same_day, [], [], cache)


def test_a_full_history_cache_starts_over_and_stays_exact(history: pd.DataFrame) -> None:
    as_of = pd.Timestamp("2024-03-01")
    index = HistoryIndex(history, FeatureConfig())
    cache = HistoryCache(index, as_of, size=4)
    day = np.full(3, as_of.to_datetime64())
    for start in range(0, 30, 3):
        lines = history.iloc[start : start + 3]
        _assert_same(cache.arrays(lines), history_arrays(index, lines, day))
        assert len(cache._entries) <= 4
