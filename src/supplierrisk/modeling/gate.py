"""The promotion rule: a challenger becomes champion only if it beats the baselines and the champion.

On the same backtest folds, its mean ROC AUC must exceed the best baseline's by
more than ``auc_margin`` and its mean Brier must be below the best baseline's by
more than ``brier_margin`` (strictly). Against a current champion, measured on
the same folds, it must be at least as good by the same margins (a tie passes
when the margins are zero, so a same-recipe retrain on fresher data is promoted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class GateDecision:
    """Whether to promote, and why."""

    promote: bool
    reasons: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for logs and run tags."""
        verdict = "promote to champion" if self.promote else "keep as challenger"
        return f"{verdict}: " + "; ".join(self.reasons)


def decide_promotion(
    means: pd.DataFrame,
    champion: dict[str, float] | None,
    auc_margin: float,
    brier_margin: float,
    model_row: str = "model",
    references: tuple[str, ...] = (),
) -> GateDecision:
    """Apply the rule to mean backtest metrics (rows: model and baselines; columns: roc_auc, brier).

    ``references`` are rows reported beside the baselines but not gated on (alternative
    models such as a logistic regression); when one is ahead of the challenger the
    decision says so.
    """
    challenger = means.loc[model_row]
    baselines = means.drop(index=[model_row, *[r for r in references if r in means.index]])
    reasons: list[str] = []
    ok = True
    best_auc_name = str(baselines["roc_auc"].idxmax())
    best_brier_name = str(baselines["brier"].idxmin())
    best_auc = float(baselines.loc[best_auc_name, "roc_auc"])
    best_brier = float(baselines.loc[best_brier_name, "brier"])
    if challenger["roc_auc"] > best_auc + auc_margin:
        reasons.append(f"AUC {challenger['roc_auc']:.4f} beats {best_auc_name} {best_auc:.4f}")
    else:
        ok = False
        reasons.append(
            f"AUC {challenger['roc_auc']:.4f} does not beat {best_auc_name} {best_auc:.4f} + {auc_margin}"
        )
    if challenger["brier"] < best_brier - brier_margin:
        reasons.append(f"Brier {challenger['brier']:.4f} beats {best_brier_name} {best_brier:.4f}")
    else:
        ok = False
        reasons.append(
            f"Brier {challenger['brier']:.4f} does not beat {best_brier_name} {best_brier:.4f}"
            f" - {brier_margin}"
        )
    if champion is not None:
        if challenger["roc_auc"] >= champion["roc_auc"] + auc_margin and challenger["brier"] <= (
            champion["brier"] - brier_margin
        ):
            reasons.append(
                f"at least as good as the champion on the same folds (AUC {champion['roc_auc']:.4f}, "
                f"Brier {champion['brier']:.4f})"
            )
        else:
            ok = False
            reasons.append(
                f"worse than the champion on the same folds (AUC {champion['roc_auc']:.4f}, "
                f"Brier {champion['brier']:.4f})"
            )
    else:
        reasons.append("no current champion")
    for name in references:
        if name in means.index and (
            means.loc[name, "roc_auc"] > challenger["roc_auc"]
            or means.loc[name, "brier"] < challenger["brier"]
        ):
            reasons.append(
                f"note: reference {name} (not gated) is ahead on AUC or Brier"
                f" ({means.loc[name, 'roc_auc']:.4f}, {means.loc[name, 'brier']:.4f})"
            )
    return GateDecision(ok, reasons)
