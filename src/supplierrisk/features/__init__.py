"""Point-in-time features: the only place where time filtering happens."""

from supplierrisk.features.config import FeatureConfig
from supplierrisk.features.history import HistoryIndex, known_history, latest_day
from supplierrisk.features.lines import build_line_features, feature_schema

__all__ = [
    "FeatureConfig",
    "HistoryIndex",
    "build_line_features",
    "feature_schema",
    "known_history",
    "latest_day",
]
