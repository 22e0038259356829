"""The declared rule: which candidate a training serves, and whether it replaces the champion.

Both steps read mean backtest metrics on the same rolling folds (rows: the
learned model ``model``, the other candidates, and the baselines). Differences
within ``tolerance`` (a few 1e-4) are ties, never verdicts.

1. **Eligible**: a candidate is eligible when, against every baseline, its mean AUC
   is at least the baseline's minus the tolerance and its mean Brier at most the
   baseline's plus the tolerance: never worse than a baseline.
2. **Served**: among eligible candidates, those within the tolerance of the lowest
   Brier (a proper score), then the highest AUC, then the order of preference
   (learned model, blend, logistic regression, trailing rates, global rate). When
   none is eligible (the baselines trade AUC against Brier), the same order over all
   candidates decides, and the choice says so. Every baseline is a candidate, so the
   served candidate is never worse than any baseline on Brier, and never worse on
   AUC either whenever some candidate can be.
3. **Promoted**: with no champion, the served candidate becomes champion (a first
   training always leaves one). Otherwise it replaces the champion, measured on the
   same folds, unless it is worse than the champion beyond the tolerance on AUC or
   on Brier (a tie passes, so a retrain on fresher data is promoted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

# What each backtest row is, in a buyer's words.
ROW_LABELS = {
    "model": "learned LightGBM model",
    "blend": "blend of the learned model and the logistic regression",
    "logistic_regression": "logistic regression",
    "supplier_trailing_rate": "supplier trailing late rate",
    "trailing_severe_rate": "supplier trailing severe-delay rate",
    "trailing_late_rate": "supplier trailing late rate",
    "global_rate": "global rate",
    "global_event_rate": "global event rate",
}


def row_label(row: str) -> str:
    """A backtest row's name in words."""
    return ROW_LABELS.get(row, row.replace("_", " "))


@dataclass
class CandidateChoice:
    """The candidate a training serves, whether it is at least as good as every baseline, and why."""

    row: str
    eligible: bool
    roc_auc: float
    brier: float
    reasons: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        """What is served, in one sentence for the model card."""
        if self.row == "model":
            return f"serving the {row_label('model')}: " + "; ".join(self.reasons)
        return f"serving the {row_label(self.row)}: " + "; ".join(self.reasons)


def _worse(means: pd.DataFrame, row: str, other: str, tolerance: float) -> list[str]:
    """Where ``row`` is worse than ``other`` beyond the tolerance."""
    out = []
    if means.loc[row, "roc_auc"] < means.loc[other, "roc_auc"] - tolerance:
        out.append(f"AUC {means.loc[row, 'roc_auc']:.4f} < {means.loc[other, 'roc_auc']:.4f}")
    if means.loc[row, "brier"] > means.loc[other, "brier"] + tolerance:
        out.append(f"Brier {means.loc[row, 'brier']:.4f} > {means.loc[other, 'brier']:.4f}")
    return out


def choose_candidate(
    means: pd.DataFrame, candidates: list[str], baselines: list[str], tolerance: float
) -> CandidateChoice:
    """The served candidate by the rule in the module docstring."""
    candidates = [c for c in candidates if c in means.index]
    baselines = [b for b in baselines if b in means.index]
    eligible = [c for c in candidates if not any(_worse(means, c, b, tolerance) for b in baselines if b != c)]
    pool = eligible or candidates
    best_brier = float(means.loc[pool, "brier"].min())
    close = [c for c in pool if means.loc[c, "brier"] <= best_brier + tolerance]
    best_auc = float(means.loc[close, "roc_auc"].max())
    row = next(c for c in close if means.loc[c, "roc_auc"] >= best_auc - 1e-12)
    reasons = []
    if eligible:
        reasons.append("at least as good as every baseline on mean AUC and Brier")
    else:
        reasons.append("no candidate is at least as good as every baseline on both AUC and Brier")
    if row != "model" and "model" in means.index:
        behind = [
            f"{row_label(b)}: {', '.join(w)}"
            for b in baselines
            if (w := _worse(means, "model", b, tolerance))
        ]
        if behind:
            reasons.append("the learned model did not beat it on this history (" + "; ".join(behind) + ")")
        else:
            reasons.append(
                f"the learned model is no better than it on this history (tolerance {tolerance:g})"
            )
    return CandidateChoice(
        row, bool(eligible), float(means.loc[row, "roc_auc"]), float(means.loc[row, "brier"]), reasons
    )


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
    choice: CandidateChoice, champion: dict[str, float] | None, tolerance: float
) -> GateDecision:
    """Promote the served candidate unless the champion is better beyond the tolerance (same folds)."""
    served = f"{row_label(choice.row)} (AUC {choice.roc_auc:.4f}, Brier {choice.brier:.4f})"
    reasons = [f"serves the {served}", choice.reasons[0]]
    if champion is None:
        return GateDecision(True, [*reasons, "no current champion"])
    worse = []
    if choice.roc_auc < champion["roc_auc"] - tolerance:
        worse.append(f"AUC below the champion's {champion['roc_auc']:.4f}")
    if choice.brier > champion["brier"] + tolerance:
        worse.append(f"Brier above the champion's {champion['brier']:.4f}")
    if worse:
        return GateDecision(
            False, [*reasons, "worse than the champion on the same folds: " + ", ".join(worse)]
        )
    return GateDecision(
        True,
        [
            *reasons,
            f"at least as good as the champion on the same folds within {tolerance:g}"
            f" (AUC {champion['roc_auc']:.4f}, Brier {champion['brier']:.4f})",
        ],
    )
