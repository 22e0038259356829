import numpy as np
import pandas as pd
import pytest

from supplierrisk.modeling.backtest import (
    Examples,
    InsufficientHistoryError,
    make_folds,
    require_both_classes,
    run_backtest,
)


def examples(n: int = 1000, seed: int = 0) -> Examples:
    rng = np.random.default_rng(seed)
    event = pd.Series(
        pd.Timestamp("2020-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 1500, n)), unit="D")
    )
    known = event + pd.to_timedelta(rng.integers(1, 120, n), unit="D")
    x = rng.normal(size=n)
    label = rng.random(n) < 1 / (1 + np.exp(-2 * x))
    features = pd.DataFrame({"x": x})
    return Examples(features, label, event, known, pd.DataFrame(index=features.index))


def test_folds_tile_the_end_before_the_gap() -> None:
    ex = examples()
    as_of = pd.Timestamp("2024-02-01")
    folds = make_folds(ex.event_time, as_of, 3, 90, 60, 365)
    assert [f.number for f in folds] == [0, 1, 2]
    assert folds[-1].test_end == as_of - pd.Timedelta(days=60)
    for a, b in zip(folds, folds[1:], strict=False):
        assert a.test_end == b.test_start
    for fold in folds:
        assert fold.cutoff == fold.test_start
        assert fold.train_end == fold.cutoff - pd.Timedelta(days=60)


def test_too_short_history_names_what_is_missing() -> None:
    ex = examples()
    with pytest.raises(
        InsufficientHistoryError, match=r"history too short: 5 folds of 365 days with a 200-day gap"
    ):
        make_folds(ex.event_time, pd.Timestamp("2024-02-01"), 5, 365, 200, 365)


def test_each_fold_trains_only_on_what_was_known_at_its_cutoff() -> None:
    ex = examples()
    folds = make_folds(ex.event_time, pd.Timestamp("2024-02-01"), 3, 90, 60, 365)
    seen = []

    def fit(train: Examples, cutoff: pd.Timestamp):
        seen.append((train, cutoff))
        assert (train.known_time <= cutoff).all()
        assert (train.event_time < cutoff - pd.Timedelta(days=60)).all()
        assert train.event_time.is_monotonic_increasing
        return {
            "model": lambda features: 1 / (1 + np.exp(-2 * features["x"].to_numpy())),
            "half": lambda features: np.full(len(features), 0.5),
        }

    result = run_backtest(ex, folds, fit)
    assert len(seen) == 3
    assert set(result.table["model"]) == {"model", "half"}
    means = result.mean()
    assert means.loc["model", "roc_auc"] > 0.7
    assert means.loc["half", "roc_auc"] == pytest.approx(0.5)
    assert len(result.predictions) == result.table.loc[result.table["model"] == "model", "n"].sum()


def test_single_class_window_is_a_clear_error() -> None:
    with pytest.raises(
        InsufficientHistoryError, match="calibration window has a single class \\(all negative, 3"
    ):
        require_both_classes(np.zeros(3, dtype=bool), "calibration window")


def test_a_row_missing_from_one_fold_is_left_out_of_every_fold() -> None:
    # A candidate that cannot be fitted on one fold's window (a single class there) is not compared
    # on the others either: every row's mean is over the same folds.
    ex = examples()
    folds = make_folds(ex.event_time, pd.Timestamp("2024-02-01"), 3, 90, 60, 365)
    calls = []

    def fit(train: Examples, cutoff: pd.Timestamp):
        calls.append(cutoff)
        rows = {"half": lambda features: np.full(len(features), 0.5)}
        if len(calls) != 2:
            rows["model"] = lambda features: 1 / (1 + np.exp(-2 * features["x"].to_numpy()))
        return rows

    result = run_backtest(ex, folds, fit)
    assert result.left_out == ["model"]
    assert set(result.table["model"]) == {"half"}
    assert result.table["fold"].nunique() == 3
    assert "p" not in result.predictions
    assert "p_half" in result.predictions
