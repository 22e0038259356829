"""Point-in-time features: the only place where time filtering happens."""

from supplierrisk.features.config import FeatureConfig, Tolerances
from supplierrisk.features.history import (
    AsOf,
    AsOfOutsideDataError,
    HistoryIndex,
    known_history,
    latest_day,
    resolve_as_of,
)
from supplierrisk.features.lines import build_line_features, feature_schema, line_feature_arrays

__all__ = [
    "AsOf",
    "AsOfOutsideDataError",
    "FeatureConfig",
    "Tolerances",
    "HistoryIndex",
    "build_line_features",
    "line_feature_arrays",
    "feature_schema",
    "known_history",
    "latest_day",
    "resolve_as_of",
]
