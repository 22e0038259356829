"""Scoring with loaded models: the one path used by ``predict``, batch scoring and the API."""

from __future__ import annotations

import pandas as pd

from supplierrisk.features import HistoryIndex, build_line_features, known_history
from supplierrisk.features.suppliers import SupplierHistoryIndex, active_snapshots
from supplierrisk.labels import open_lines
from supplierrisk.modeling.disruption import DisruptionModel
from supplierrisk.modeling.drivers import category_medians, explain_rows
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


# Snapshot facts shown beside a supplier's risk (its own numbers, for reading the score).
SUPPLIER_CONTEXT = (
    "main_category",
    "supplier_country",
    "sup_known_lines_365d",
    "sup_late_rate_365d",
    "sup_severe_lines_90d",
    "sup_open_lines",
    "sup_overdue_lines",
)


def supplier_snapshot_features(index: SupplierHistoryIndex, as_of: pd.Timestamp) -> pd.DataFrame:
    """Snapshot features of every supplier active at ``as_of`` (keys ``supplier_id``, ``as_of`` included)."""
    snapshots = active_snapshots(index, pd.DatetimeIndex([pd.Timestamp(as_of).normalize()]))
    features = index.snapshot_features(snapshots)
    return pd.concat([snapshots, features], axis=1)


def suppliers_in_category(history: pd.DataFrame, category: str, as_of: pd.Timestamp, days: int) -> set[str]:
    """Suppliers with a line in ``category`` ordered in the ``days`` before ``as_of`` or still open then."""
    in_category = history["category"] == category
    if not in_category.any():
        known = sorted(history["category"].dropna().unique().tolist())
        raise ValueError(f"unknown category {category!r}; known categories: {', '.join(map(str, known))}")
    recent = history["order_date"] > pd.Timestamp(as_of) - pd.Timedelta(days=days)
    still_open = history["delivered_date"].isna() | (history["delivered_date"] > as_of)
    return set(history.loc[in_category & (recent | still_open), "supplier_id"])


def score_suppliers(
    model: DisruptionModel,
    history: pd.DataFrame,
    as_of: pd.Timestamp,
    category: str | None = None,
    explain: bool = True,
    top: int | None = None,
) -> pd.DataFrame:
    """Disruption risk of every supplier active at ``as_of``, riskiest first, with drivers for shown rows.

    ``category`` keeps suppliers that served it in the last year (or have open lines in
    it); ``top`` keeps the riskiest ones. Contributions are computed only for the rows
    returned; the category medians in the sentences compare with all active suppliers.
    """
    as_of = pd.Timestamp(as_of).normalize()
    known = known_history(history, as_of)
    index = SupplierHistoryIndex(known, model.feature_config)
    frame = supplier_snapshot_features(index, as_of)
    scored = model.predict(frame)
    context = frame.reindex(columns=["supplier_id", *SUPPLIER_CONTEXT])
    out = pd.concat([context, scored], axis=1)
    out.insert(1, "as_of", as_of.date().isoformat())
    if category is not None:
        members = suppliers_in_category(known, category, as_of, model.feature_config.long_window_days)
        out = out.loc[out["supplier_id"].isin(members)]
    out = out.sort_values(["p_disruption", "supplier_id"], ascending=[False, True], kind="mergesort")
    if top is not None:
        out = out.head(top)
    if explain and len(out):
        shown = frame.loc[out.index]
        drivers = explain_rows(
            model.contributions(shown),
            shown,
            category_medians(frame),
            severe_days=model.feature_config.severe_delay_days,
        )
        out = pd.concat([out, drivers], axis=1)
    return out.reset_index(drop=True)
