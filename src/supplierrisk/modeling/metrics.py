"""Probability metrics: ranking (ROC AUC, PR AUC), accuracy (Brier, log loss) and calibration (ECE)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

METRIC_NAMES = ("roc_auc", "pr_auc", "brier", "log_loss", "ece")
# Metrics where larger is better; the rest are losses.
HIGHER_IS_BETTER = frozenset({"roc_auc", "pr_auc"})
_EPS = 1e-6


def reliability_table(y_true: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Per equal-width probability bin: count, mean predicted and observed positive share."""
    y = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "p": p, "y": y})
    table = frame.groupby("bin").agg(
        count=("y", "size"), mean_predicted=("p", "mean"), observed=("y", "mean")
    )
    table = table.reindex(range(bins))
    table.insert(0, "bin_low", edges[:-1])
    table.insert(1, "bin_high", edges[1:])
    table["count"] = table["count"].fillna(0).astype(int)
    return table.reset_index(drop=True)


def expected_calibration_error(y_true: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Share-weighted mean |observed - predicted| over equal-width bins."""
    table = reliability_table(y_true, p, bins)
    used = table["count"] > 0
    weights = table.loc[used, "count"] / table.loc[used, "count"].sum()
    gaps = (table.loc[used, "observed"] - table.loc[used, "mean_predicted"]).abs()
    return float((weights * gaps).sum())


def binary_metrics(y_true: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC, Brier, log loss and ECE (AUCs are NaN when one class is absent)."""
    y = np.asarray(y_true, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "ece": expected_calibration_error(y, p),
        "n": float(len(y)),
        "positive_rate": float(y.mean()) if len(y) else float("nan"),
        "mean_predicted": float(p.mean()) if len(p) else float("nan"),
    }
