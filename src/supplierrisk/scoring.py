"""Scoring with loaded models: the one path used by ``predict``, batch scoring and the API."""

from __future__ import annotations

import pandas as pd

from supplierrisk.features import HistoryIndex, build_line_features, known_history
from supplierrisk.labels import open_lines
from supplierrisk.modeling.otd import OtdModel

LINE_KEYS = ("po_id", "line_id", "supplier_id")


def line_features(
    model: OtdModel, index: HistoryIndex, lines: pd.DataFrame, as_of: pd.Timestamp
) -> pd.DataFrame:
    """The model's features for ``lines`` as of ``as_of`` (history from ``index``)."""
    as_of_series = pd.Series(pd.Timestamp(as_of).normalize(), index=lines.index)
    return build_line_features(
        index, lines, as_of_series, model.feature_set.categorical, model.feature_set.numeric_extras
    )


def score_lines(
    model: OtdModel, index: HistoryIndex, lines: pd.DataFrame, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Late probability, band and delay quantiles for ``lines`` as of ``as_of``."""
    features = line_features(model, index, lines, as_of)
    scored = model.predict(features)
    keys = lines.reindex(columns=list(LINE_KEYS))
    return pd.concat([keys, scored], axis=1)


def score_open_lines(model: OtdModel, history: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Score every line open and not yet due at ``as_of``, from the history known then."""
    known = known_history(history, as_of)
    mask = open_lines(known, as_of, model.feature_config.on_time_tolerance_days)
    index = HistoryIndex(known, model.feature_config)
    scored = score_lines(model, index, known.loc[mask.to_numpy()], as_of)
    return scored.sort_values(["po_id", "line_id"], kind="mergesort", ignore_index=True)
