"""Performance monitoring: past batches' predictions checked against what happened since.

For a batch scored at day ``a`` and the store as known now:

- **lines**: the batch's open lines whose outcome is now known (delivered, or past
  due and still open) are labelled late or not exactly as in training; their
  realised late rate is compared with the mean predicted ``p_late``, with ROC AUC,
  Brier score and calibration by predicted decile;
- **suppliers**: once the horizon after ``a`` has settled, each scored supplier's
  disruption event is labelled as in training and compared with ``p_disruption``.

The figures are set beside the model's backtest (same metrics, logged with its
training run) and flagged as degraded beyond the configured margins.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from supplierrisk.labels import DisruptionEvent, disruption_labels, late_labels
from supplierrisk.modeling.metrics import binary_metrics


def calibration_by_decile(label: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """Rows per predicted-risk decile: count, mean predicted and observed rate."""
    deciles = pd.qcut(pd.Series(p).rank(method="first"), min(10, len(p)), labels=False) + 1
    frame = pd.DataFrame({"decile": deciles.to_numpy(), "p": p, "y": label.astype(float)})
    return (
        frame.groupby("decile")
        .agg(count=("y", "size"), mean_predicted=("p", "mean"), observed=("y", "mean"))
        .reset_index()
    )


def _summary(label: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(label), "positives": int(label.sum())}
    if len(label) == 0:
        return out
    out["realised_rate"] = float(label.mean())
    out["predicted_mean"] = float(p.mean())
    if len(np.unique(label)) == 2:
        metrics = binary_metrics(label, p)
        out.update({k: float(metrics[k]) for k in ("roc_auc", "brier", "log_loss", "ece")})
        out["calibration"] = calibration_by_decile(label, p).to_dict(orient="records")
    else:
        out["note"] = "a single class so far: AUC and calibration need both outcomes"
    return out


def check_lines(
    scored: pd.DataFrame, history_now: pd.DataFrame, now: pd.Timestamp, tolerance: int
) -> dict[str, Any]:
    """Batch line predictions (``po_id``, ``line_id``, ``p_late``) against outcomes known at ``now``."""
    labels = late_labels(history_now, now, tolerance)
    keyed = pd.concat([history_now[["po_id", "line_id"]], labels], axis=1)
    joined = scored[["po_id", "line_id", "p_late"]].merge(keyed, on=["po_id", "line_id"], how="left")
    known = joined["label_known"].fillna(False).astype(bool).to_numpy()
    out = _summary(joined.loc[known, "late"].astype(bool).to_numpy(), joined.loc[known, "p_late"].to_numpy())
    out["scored"] = len(scored)
    out["outcome_known"] = int(known.sum())
    return out


def check_suppliers(
    scored: pd.DataFrame,
    history_now: pd.DataFrame,
    now: pd.Timestamp,
    as_of: pd.Timestamp,
    event: DisruptionEvent,
) -> dict[str, Any]:
    """Batch supplier risks against the disruption events, once the horizon has settled at ``now``."""
    snapshots = pd.DataFrame({"supplier_id": scored["supplier_id"].to_numpy(), "as_of": pd.Timestamp(as_of)})
    labels = disruption_labels(history_now, snapshots, event)
    settled_on = pd.Timestamp(as_of) + pd.Timedelta(days=event.label_reach_days)
    if pd.Timestamp(now) < settled_on:
        return {"scored": len(scored), "settles_on": settled_on.date().isoformat(), "n": 0}
    out = _summary(labels["event"].to_numpy(), scored["p_disruption"].to_numpy(dtype=float))
    out["scored"] = len(scored)
    return out


def degradation(
    observed: dict[str, Any], backtest: dict[str, float], auc_margin: float, brier_margin: float
) -> list[str]:
    """Reasons the observed figures fall short of the backtest by more than the margins (empty if fine)."""
    reasons = []
    if (
        "roc_auc" in observed
        and "roc_auc" in backtest
        and observed["roc_auc"] < backtest["roc_auc"] - auc_margin
    ):
        reasons.append(
            f"AUC {observed['roc_auc']:.3f} below the backtest's {backtest['roc_auc']:.3f} - {auc_margin}"
        )
    if "brier" in observed and "brier" in backtest and observed["brier"] > backtest["brier"] + brier_margin:
        reasons.append(
            f"Brier {observed['brier']:.3f} above the backtest's {backtest['brier']:.3f} + {brier_margin}"
        )
    return reasons
