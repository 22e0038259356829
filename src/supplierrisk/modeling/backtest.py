"""Rolling-origin backtests: folds by event time, each trained only on what was known at its cut-off.

For fold k with cut-off ``c``: training examples have an event time before
``c - gap`` and a label already known at ``c``; test examples have an event time
in ``[c, c + test_days)``. Test windows tile the end of the history and stop
``gap`` days before the training as-of, so their labels are known. The gap is at
least a typical lead time (or the label horizon), so training labels are not a
censored, early-resolving subset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from supplierrisk.modeling.metrics import METRIC_NAMES, binary_metrics
from supplierrisk.progress import task


class InsufficientHistoryError(ValueError):
    """The history is too short, or too one-sided, for the configured windows."""


@dataclass(frozen=True)
class Examples:
    """Labelled examples: features, a binary label, when each happened and when its label was known."""

    features: pd.DataFrame
    label: np.ndarray
    event_time: pd.Series
    known_time: pd.Series
    aux: pd.DataFrame

    def __len__(self) -> int:
        return len(self.label)

    def subset(self, mask: np.ndarray) -> Examples:
        """The examples where ``mask`` is true, in event-time order."""
        positions = np.flatnonzero(mask)
        order = positions[np.argsort(self.event_time.to_numpy()[positions], kind="stable")]
        return Examples(
            features=self.features.iloc[order],
            label=self.label[order],
            event_time=self.event_time.iloc[order],
            known_time=self.known_time.iloc[order],
            aux=self.aux.iloc[order],
        )

    def known_at(self, cutoff: pd.Timestamp, event_before: pd.Timestamp) -> Examples:
        """Examples that happened before ``event_before`` with labels known by ``cutoff``."""
        mask = (self.event_time < event_before).to_numpy() & (self.known_time <= cutoff).to_numpy()
        return self.subset(mask)

    def between(self, start: pd.Timestamp, end: pd.Timestamp) -> Examples:
        """Examples with event time in ``[start, end)``."""
        return self.subset(((self.event_time >= start) & (self.event_time < end)).to_numpy())

    def split(self, fractions: tuple[float, float, float]) -> tuple[Examples, Examples, Examples]:
        """Fit, early-stopping and calibration parts by time (rows are in event-time order)."""
        n = len(self)
        cut1 = int(n * fractions[0])
        cut2 = int(n * (fractions[0] + fractions[1]))
        idx = np.arange(n)
        return self.subset(idx < cut1), self.subset((idx >= cut1) & (idx < cut2)), self.subset(idx >= cut2)


@dataclass(frozen=True)
class Fold:
    """One rolling-origin fold."""

    number: int
    cutoff: pd.Timestamp
    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp


def fold_test_windows(
    as_of: pd.Timestamp, n_folds: int, test_days: int, gap_days: int
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """``[start, end)`` of each fold's test window, oldest first, ending ``gap_days`` before ``as_of``."""
    span = pd.Timedelta(days=test_days)
    last_end = pd.Timestamp(as_of) - pd.Timedelta(days=gap_days)
    return [(last_end - (n_folds - k) * span, last_end - (n_folds - 1 - k) * span) for k in range(n_folds)]


def make_folds(
    event_time: pd.Series,
    as_of: pd.Timestamp,
    n_folds: int,
    test_days: int,
    gap_days: int,
    min_train_days: int,
) -> list[Fold]:
    """Folds whose test windows tile the end of the history, ``gap_days`` before ``as_of``."""
    if n_folds < 1:
        raise InsufficientHistoryError("a backtest needs at least one fold")
    gap = pd.Timedelta(days=gap_days)
    folds = [
        Fold(k, start, start - gap, start, end)
        for k, (start, end) in enumerate(fold_test_windows(as_of, n_folds, test_days, gap_days))
    ]
    first_train_days = (folds[0].train_end - event_time.min()).days
    if first_train_days < min_train_days:
        need = min_train_days + gap_days * 2 + n_folds * test_days
        have = (pd.Timestamp(as_of) - event_time.min()).days
        raise InsufficientHistoryError(
            f"history too short: {n_folds} folds of {test_days} days with a {gap_days}-day gap and at least "
            f"{min_train_days} training days need about {need} days of history before the as-of, "
            f"but it spans {have} days ({event_time.min().date()} to {pd.Timestamp(as_of).date()})"
        )
    return folds


def require_both_classes(label: np.ndarray, what: str) -> None:
    """Fail with a clear message when a window holds a single class."""
    values = np.unique(label)
    if len(values) < 2:
        only = "positive" if len(values) and values[0] else "negative"
        raise InsufficientHistoryError(f"{what} has a single class (all {only}, {len(label)} examples)")


Predictor = Callable[[pd.DataFrame], np.ndarray]
# Fits every candidate on a training window and returns a predictor per backtest row.
FitFunction = Callable[["Examples", pd.Timestamp], dict[str, Predictor]]


@dataclass
class BacktestResult:
    """Per-fold metrics of every row (candidates and baselines) and their out-of-time predictions.

    ``predictions`` has ``fold``, ``row``, ``label``, ``p`` (the learned model) and
    ``p_<row>`` for every other row.
    """

    table: pd.DataFrame
    predictions: pd.DataFrame
    # Rows that could not be fitted on every fold (a window with a single class), left out of both.
    left_out: list[str] = field(default_factory=list)

    def mean(self) -> pd.DataFrame:
        """Mean metrics per row over folds."""
        return self.table.groupby("model")[list(METRIC_NAMES)].mean()

    def scores(self, row: str) -> np.ndarray:
        """The out-of-time probabilities of one row."""
        column = "p" if row == "model" else f"p_{row}"
        return self.predictions[column].to_numpy(dtype=float)


def _run_fold(
    examples: Examples,
    fold: Fold,
    fit: FitFunction,
    rows: list[dict[str, object]],
    predictions: list[pd.DataFrame],
) -> None:
    """Fit every row at one fold's cut-off and append its metrics and test-window predictions."""
    train = examples.known_at(fold.cutoff, fold.train_end)
    test = examples.between(fold.test_start, fold.test_end)
    if len(test) == 0:
        raise InsufficientHistoryError(
            f"fold {fold.number}: no examples in the test window {fold.test_start.date()} to "
            f"{fold.test_end.date()}"
        )
    require_both_classes(train.label, f"fold {fold.number} training window (before {fold.train_end.date()})")
    scored = {row: predictor(test.features) for row, predictor in fit(train, fold.cutoff).items()}
    for name, p in scored.items():
        metrics = binary_metrics(test.label, p)
        rows.append(
            {
                "fold": fold.number,
                "cutoff": fold.cutoff.date().isoformat(),
                "test_start": fold.test_start.date().isoformat(),
                "test_end": fold.test_end.date().isoformat(),
                "n_train": len(train),
                "model": name,
                **metrics,
            }
        )
    frame = pd.DataFrame(
        {"fold": fold.number, "row": test.features.index.to_numpy(), "label": test.label.astype(int)}
    )
    for name, p in scored.items():
        frame["p" if name == "model" else f"p_{name}"] = p
    predictions.append(frame)


def run_backtest(examples: Examples, folds: list[Fold], fit: FitFunction) -> BacktestResult:
    """Train every row (candidates and baselines) at each fold's cut-off and score its test window."""
    rows: list[dict[str, object]] = []
    predictions: list[pd.DataFrame] = []
    with task("backtest folds", total=len(folds)) as step:
        for fold in folds:
            _run_fold(examples, fold, fit, rows, predictions)
            step(detail=f"fold {fold.number} (cut-off {fold.cutoff.date()})")
    table, scored_rows = pd.DataFrame(rows), pd.concat(predictions, ignore_index=True)
    # Every row is compared on the same folds: one missing from a fold is left out of all.
    folds_per_row = table.groupby("model")["fold"].nunique()
    left_out = sorted(folds_per_row.index[folds_per_row < len(folds)])
    table = table.loc[~table["model"].isin(left_out)].reset_index(drop=True)
    scored_rows = scored_rows.drop(columns=["p" if r == "model" else f"p_{r}" for r in left_out])
    return BacktestResult(table, scored_rows, left_out)
