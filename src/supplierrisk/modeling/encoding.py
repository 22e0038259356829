"""Encoding feature frames for the models: one float matrix, categoricals as codes of the training categories.

Every scorer, the delay models and the drift checks read features through these
functions, so a category means the same code everywhere, and missing or unseen
values become NaN (LightGBM's missing branch; the "other" column of the logistic
regression) instead of silently shifting codes.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from supplierrisk.features.events import FEW_QUERIES


def cast_categoricals(frame: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    """Cast ``categories``' columns to pandas ``category`` with exactly those categories."""
    out = frame.copy()
    for column, known in categories.items():
        values = out[column] if column in out else pd.Series(None, index=out.index, dtype=object)
        out[column] = pd.Categorical(values.astype(object).where(values.notna(), None), categories=known)
    return out


@functools.lru_cache(maxsize=256)
def _category_index(known: tuple[str, ...]) -> pd.Index:
    return pd.Index(known)


@functools.lru_cache(maxsize=256)
def _category_lookup(known: tuple[str, ...]) -> dict[object, int]:
    return {value: code for code, value in enumerate(known)}


def category_codes(values: np.ndarray, known: list[str]) -> np.ndarray:
    """Each value's position in ``known`` (the training categories), -1 when missing or unseen."""
    if len(values) <= FEW_QUERIES:
        lookup = _category_lookup(tuple(known))
        return np.array([lookup.get(v, -1) for v in values.tolist()], dtype=np.int64)
    return np.asarray(_category_index(tuple(known)).get_indexer(values), dtype=np.int64)


class Encoded:
    """Feature rows encoded once for LightGBM (see ``encode_features``), passed on to every booster.

    Has ``shape`` and ``len`` so scikit-learn's calibration wrappers can count its rows.
    """

    def __init__(self, matrix: np.ndarray, names: list[str]) -> None:
        self.matrix = matrix
        self.names = names
        self._position = {name: j for j, name in enumerate(names)}

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns."""
        return (int(self.matrix.shape[0]), int(self.matrix.shape[1]))

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    def column(self, name: str) -> np.ndarray:
        """One column's values (NaN when the column was absent)."""
        return self.matrix[:, self._position[name]]

    def select(self, names: list[str]) -> np.ndarray:
        """The matrix with columns ``names`` in that order (absent ones all NaN)."""
        if names == self.names:
            return self.matrix
        out = np.full((len(self), len(names)), np.nan)
        for j, name in enumerate(names):
            if name in self._position:
                out[:, j] = self.matrix[:, self._position[name]]
        return out


def encode_features(
    frame: pd.DataFrame | Mapping[str, np.ndarray], names: list[str], categories: dict[str, list[str]]
) -> Encoded:
    """The float matrix LightGBM predicts from: columns ``names``, categoricals as training codes.

    ``frame`` is a feature frame or the same features as arrays by name (the online path).
    A categorical value becomes its position in the training categories, exactly the
    code the pandas ``category`` cast gives; missing and unseen values become NaN
    (LightGBM's missing branch). Building the matrix here skips LightGBM's pandas
    conversion, which dominates the cost of scoring a few rows.
    """
    rows = len(frame) if isinstance(frame, pd.DataFrame) else len(next(iter(frame.values()), ()))
    out = np.empty((rows, len(names)), dtype=np.float64)
    numeric = [j for j, name in enumerate(names) if name not in categories]
    if isinstance(frame, pd.DataFrame):
        block = frame.reindex(columns=[names[j] for j in numeric])
        out[:, numeric] = block.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        for j in numeric:
            out[:, j] = frame.get(names[j], np.nan)
    for j, name in enumerate(names):
        if name not in categories:
            continue
        if name not in frame:
            out[:, j] = np.nan
            continue
        codes = category_codes(np.asarray(frame[name], dtype=object), categories[name])
        out[:, j] = np.where(codes < 0, np.nan, codes)
    return Encoded(out, list(names))


def unseen_by_row(
    columns: Mapping[str, Any],
    categories: dict[str, list[str]],
    rows: int,
    encoded: Encoded | None = None,
) -> np.ndarray:
    """Per row, a dict of its categorical values training never saw, by column (missing is not unseen).

    ``columns`` holds the rows' raw values by name. With the rows' ``encoded`` matrix the
    codes are read from it (NaN there: missing or unseen) instead of being looked up again.
    """
    unseen: list[dict[str, str]] = [{} for _ in range(rows)]
    for column, known in categories.items():
        if column not in columns:
            continue
        values = np.asarray(columns[column], dtype=object)
        if encoded is not None and column in encoded.names:
            candidates = np.isnan(encoded.column(column))
        else:
            candidates = category_codes(values, known) < 0
        for position in np.flatnonzero(candidates):
            if not pd.isna(values[position]):
                unseen[position][column] = str(values[position])
    return np.fromiter(unseen, dtype=object, count=rows)


def prediction_threads(rows: int) -> dict[str, Any]:
    """One thread for small inputs: starting the OpenMP team costs more than a few rows take."""
    return {"num_threads": 1} if rows < 200 else {}


def unseen_share(frame: pd.DataFrame, categories: dict[str, list[str]]) -> dict[str, float]:
    """Per categorical column, the share of non-missing values not seen in training."""
    shares: dict[str, float] = {}
    for column, known in categories.items():
        if column not in frame:
            continue
        present = frame[column].dropna()
        shares[column] = float((~present.isin(known)).mean()) if len(present) else 0.0
    return shares
