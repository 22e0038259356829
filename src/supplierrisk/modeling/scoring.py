"""Scoring with loaded models: the one path used by ``predict``, batch scoring and the API.

``history_at`` builds what the store knew at an as-of day and its point-in-time
index once; every scorer then reads from it, so a batch scoring lines and
suppliers pays for the index a single time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from supplierrisk.features import (
    FeatureConfig,
    HistoryIndex,
    build_line_features,
    known_history,
    line_feature_arrays,
)
from supplierrisk.features.history import HistoryCache, Queries
from supplierrisk.features.suppliers import SupplierHistoryIndex, active_snapshots
from supplierrisk.labels import open_lines
from supplierrisk.modeling.disruption import DISRUPTION_OUTPUTS, DisruptionModel
from supplierrisk.modeling.drivers import category_medians, explain_rows, recent_change
from supplierrisk.modeling.encoding import unseen_by_row
from supplierrisk.modeling.otd import OTD_OUTPUTS, OtdModel

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


def score_new_lines(
    model: OtdModel,
    at: HistoryAt,
    lines: pd.DataFrame,
    as_of: pd.Timestamp,
    explain: bool = False,
    top: int = 3,
) -> pd.DataFrame:
    """Score lines that need not be in the store (see ``score_new_line_columns``), as a frame."""
    return pd.DataFrame(score_new_line_columns(model, at, lines, as_of, explain, top))


def score_new_line_columns(
    model: OtdModel,
    at: HistoryAt,
    lines: Queries,
    as_of: pd.Timestamp,
    explain: bool = False,
    top: int = 3,
    unseen: bool = False,
) -> dict[str, np.ndarray]:
    """Scores of lines that need not be in the store (a PO being created), by column, drivers on request.

    ``lines`` is a frame or its columns as arrays by name. Features are built as of
    ``as_of`` (at most the history's as-of) from the index, exactly as for batch scoring
    and training. Without drivers nothing becomes a frame (the cost that dominates a few
    lines). Drivers come from LightGBM contributions and are computed only when asked for;
    with ``unseen``, ``unseen_values`` holds each line's values training never saw.
    """
    if as_of > at.as_of:
        raise ValueError(f"as-of {as_of.date()} is after the history's last day {at.as_of.date()}")
    rows = len(lines["supplier_id"])
    keys = {key: np.asarray(lines[key]) if key in lines else np.full(rows, None) for key in LINE_KEYS}
    day = pd.Timestamp(as_of).normalize()
    if not explain or not rows:
        # At the history's own day (the usual online request) the deployment's cache answers.
        cache = at.history_cache(model.feature_config) if day == at.as_of else None
        index = cache.index if cache is not None else at.index_for(model.feature_config)
        features = model.feature_set
        arrays = line_feature_arrays(
            index,
            lines,
            np.full(rows, day.to_datetime64()),
            features.categorical,
            features.numeric_extras,
            cache,
        )
        encoded = model.classifier.encode(arrays)
        scored = keys | model.predict_columns(encoded)[0]
        if unseen:
            scored["unseen_values"] = unseen_by_row(lines, model.categories, rows, encoded)
        return scored
    index = at.index_for(model.feature_config)
    frame = line_features(
        model, index, lines if isinstance(lines, pd.DataFrame) else pd.DataFrame(lines), as_of
    )
    scored = keys | model.predict_columns(frame)[0]
    drivers = explain_rows(
        model.contributions(frame),
        frame,
        pd.DataFrame(),
        top=top,
        severe_days=model.feature_config.severe_delay_days,
    )
    scored["drivers"] = drivers["drivers"].to_numpy()
    if unseen:
        scored["unseen_values"] = unseen_by_row(lines, model.categories, rows)
    return scored


@dataclass(frozen=True)
class HistoryAt:
    """What the store knew at the end of ``as_of``, and its point-in-time index.

    ``index_for`` gives the index a model needs: this one, reconfigured, when the
    settings the index was built with agree (the usual case: one build shared by
    both champions), else one built for the model's settings and kept for reuse.
    So any pair of champions can score together.
    """

    as_of: pd.Timestamp
    known: pd.DataFrame
    index: HistoryIndex
    _built: dict[tuple[object, ...], HistoryIndex] = field(default_factory=dict, compare=False, repr=False)
    _caches: dict[FeatureConfig, HistoryCache] = field(default_factory=dict, compare=False, repr=False)

    def index_for(self, config: FeatureConfig) -> HistoryIndex:
        """The index queried with ``config`` (see the class docstring)."""
        if not self.index.needs_rebuild(config):
            return self.index.reconfigured(config)
        key = config.build_key()
        if key not in self._built:
            kind = SupplierHistoryIndex if isinstance(self.index, SupplierHistoryIndex) else HistoryIndex
            self._built[key] = kind(self.known, config)
        return self._built[key].reconfigured(config)

    def history_cache(self, config: FeatureConfig) -> HistoryCache:
        """The history cache of ``index_for(config)`` at the as-of day, made on first use and kept."""
        if config not in self._caches:
            self._caches[config] = HistoryCache(self.index_for(config), self.as_of)
        return self._caches[config]


def history_at(
    history: pd.DataFrame, as_of: pd.Timestamp, config: FeatureConfig, suppliers: bool = True
) -> HistoryAt:
    """The known history at ``as_of`` and its index (with supplier snapshots when ``suppliers``)."""
    as_of = pd.Timestamp(as_of).normalize()
    known = known_history(history, as_of)
    index = SupplierHistoryIndex(known, config) if suppliers else HistoryIndex(known, config)
    return HistoryAt(as_of, known, index)


def open_line_mask(at: HistoryAt, tolerance_days: int) -> pd.Series:
    """Lines open and not yet due at the as-of (the ones the OTD model scores)."""
    return open_lines(at.known, at.as_of, tolerance_days)


def line_scope(at: HistoryAt, tolerance_days: int, rows_in_store: int) -> dict[str, int]:
    """Why store rows were not scored by the OTD model: each row falls in exactly one reason."""
    known = at.known
    due = known["promised_date"] + pd.Timedelta(days=tolerance_days)
    delivered = known["delivered_date"].notna()
    return {
        "ordered after as-of": rows_in_store - len(known),
        "delivered by as-of": int(delivered.sum()),
        "open and past due (already late; counted as overdue)": int((~delivered & (due < at.as_of)).sum()),
    }


def no_open_lines_reason(at: HistoryAt, tolerance_days: int) -> str:
    """Why nothing is open and not yet due at the as-of, in a sentence."""
    scope = line_scope(at, tolerance_days, len(at.known))
    delivered = scope["delivered by as-of"]
    overdue = scope["open and past due (already late; counted as overdue)"]
    return (
        f"no line is open and not yet due on {at.as_of.date()}: of the {len(at.known)} lines ordered by"
        f" then, {delivered} were delivered and {overdue} are past their promised date;"
        " choose an earlier --as-of or ingest newer orders"
    )


def score_open_lines_with_features(model: OtdModel, at: HistoryAt) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores of every line open and not yet due at the as-of, and the feature rows behind them.

    Scores carry the line keys, category, promised date and open value; both frames
    are in ``(po_id, line_id)`` order with a fresh index.
    """
    mask = open_line_mask(at, model.feature_config.on_time_tolerance_days).to_numpy()
    lines = at.known.loc[mask]
    lines = lines.sort_values(["po_id", "line_id"], kind="mergesort")
    features = line_features(model, at.index_for(model.feature_config), lines, at.as_of)
    context = lines.reindex(columns=["category", "promised_date"])
    context["open_value"] = lines["quantity_ordered"] * lines["unit_price"]
    # Nothing open (e.g. the day the data ends): empty outputs with the usual columns.
    predicted = model.predict(features) if len(features) else pd.DataFrame(columns=list(OTD_OUTPUTS))
    scored = pd.concat([lines.reindex(columns=list(LINE_KEYS)), predicted, context], axis=1)
    return scored.reset_index(drop=True), features.reset_index(drop=True)


def score_open_lines(model: OtdModel, at: HistoryAt) -> pd.DataFrame:
    """Score every line open and not yet due at the as-of (see ``score_open_lines_with_features``)."""
    return score_open_lines_with_features(model, at)[0]


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


def score_supplier_risk(
    model: DisruptionModel,
    at: HistoryAt,
    category: str | None = None,
    explain: bool = True,
    top: int | None = None,
) -> pd.DataFrame:
    """Disruption risk of suppliers at the as-of (see ``score_supplier_risk_with_features``)."""
    return score_supplier_risk_with_features(model, at, category, explain, top)[0]


def score_supplier_risk_with_features(
    model: DisruptionModel,
    at: HistoryAt,
    category: str | None = None,
    explain: bool = True,
    top: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Disruption risk of every supplier active at ``as_of``, riskiest first, with drivers for shown rows.

    ``category`` keeps suppliers that served it in the last year (or have open lines in
    it); ``top`` keeps the riskiest ones. Contributions are computed only for the rows
    returned; the category medians in the sentences compare with all active suppliers.
    """
    if not isinstance(at.index, SupplierHistoryIndex):
        raise TypeError("supplier risk needs a history_at(..., suppliers=True)")
    as_of = at.as_of
    index = at.index_for(model.feature_config)
    assert isinstance(index, SupplierHistoryIndex)  # noqa: S101 - index_for keeps the index's kind
    frame = supplier_snapshot_features(index, as_of)
    scored = model.predict(frame) if len(frame) else pd.DataFrame(columns=list(DISRUPTION_OUTPUTS))
    context = frame.reindex(columns=["supplier_id", *SUPPLIER_CONTEXT])
    out = pd.concat([context, scored], axis=1)
    out.insert(1, "as_of", as_of.date().isoformat())
    if category is not None:
        members = suppliers_in_category(at.known, category, as_of, model.feature_config.long_window_days)
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
        # What changed, whatever the drivers: the recent late share against the supplier's usual one.
        short = min(model.feature_config.windows_days)
        drivers["recent_change"] = [recent_change(row, short) for _, row in shown.iterrows()]
        out = pd.concat([out, drivers], axis=1)
    return out.reset_index(drop=True), frame.loc[out.index].reset_index(drop=True)
