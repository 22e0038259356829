"""The declared rule: eligibility against every baseline, the served candidate, the champion comparison."""

import pandas as pd
import pytest

from supplierrisk.modeling.gate import CandidateChoice, choose_candidate, decide_promotion

CANDIDATES = ["model", "blend", "logistic_regression", "supplier_trailing_rate"]
BASELINES = ["global_rate", "supplier_trailing_rate", "logistic_regression"]
TOL = 0.0005


def means(**rows: tuple[float, float]) -> pd.DataFrame:
    base = {
        "global_rate": (0.5, 0.140),
        "supplier_trailing_rate": (0.70, 0.120),
        "logistic_regression": (0.72, 0.118),
        "blend": (0.72, 0.118),
        "model": (0.75, 0.110),
    }
    base.update(rows)
    return pd.DataFrame(
        {"roc_auc": [v[0] for v in base.values()], "brier": [v[1] for v in base.values()]}, index=list(base)
    )


def test_the_learned_model_is_served_when_it_beats_every_baseline() -> None:
    choice = choose_candidate(means(), CANDIDATES, BASELINES, TOL)
    assert (choice.row, choice.eligible) == ("model", True)
    assert choice.sentence().startswith("serving the learned LightGBM model")


def test_a_baseline_is_served_when_the_learned_model_loses_and_says_so() -> None:
    # The learned model ranks worse than the trailing rate and is worse calibrated than the global rate.
    choice = choose_candidate(
        means(model=(0.68, 0.145), blend=(0.69, 0.130), logistic_regression=(0.66, 0.125)),
        CANDIDATES,
        BASELINES,
        TOL,
    )
    assert choice.row == "supplier_trailing_rate"
    assert choice.eligible
    sentence = choice.sentence()
    assert sentence.startswith("serving the supplier trailing late rate")
    assert "the learned model did not beat it on this history" in sentence
    assert "AUC 0.6800 < 0.7000" in sentence


def test_differences_within_the_tolerance_are_ties() -> None:
    # 0.00001 better on AUC and equal on Brier: a tie, so the lower-Brier-then-AUC order decides, not noise.
    tied = means(model=(0.72001, 0.118), blend=(0.71, 0.119), logistic_regression=(0.72, 0.118))
    choice = choose_candidate(tied, CANDIDATES, BASELINES, TOL)
    assert choice.row == "model"  # within tolerance of the best Brier, best AUC, first preference
    assert choice.eligible
    # Beyond the tolerance the logistic regression's better Brier wins.
    choice = choose_candidate(
        means(model=(0.7201, 0.1190), blend=(0.71, 0.1195), logistic_regression=(0.72, 0.1180)),
        CANDIDATES,
        BASELINES,
        TOL,
    )
    assert choice.row == "logistic_regression"


def test_when_no_candidate_beats_every_baseline_the_lowest_brier_is_served_and_flagged() -> None:
    # The trailing rate ranks best, the logistic regression calibrates best: nobody wins both.
    table = means(
        model=(0.68, 0.130),
        blend=(0.69, 0.125),
        logistic_regression=(0.70, 0.115),
        supplier_trailing_rate=(0.74, 0.125),
    )
    choice = choose_candidate(table, CANDIDATES, BASELINES, TOL)
    assert choice.row == "logistic_regression"
    assert not choice.eligible
    assert "no candidate is at least as good as every baseline" in choice.sentence()


@pytest.mark.parametrize(
    ("champion", "promote"),
    [
        (None, True),
        ({"roc_auc": 0.75, "brier": 0.110}, True),  # same figures: a fresher retrain is promoted
        ({"roc_auc": 0.7504, "brier": 0.1103}, True),  # within the tolerance: a tie
        ({"roc_auc": 0.76, "brier": 0.110}, False),
        ({"roc_auc": 0.75, "brier": 0.105}, False),
    ],
)
def test_champion_comparison_on_the_same_folds(champion: dict[str, float] | None, promote: bool) -> None:
    choice = CandidateChoice("model", True, 0.75, 0.110, ["at least as good as every baseline"])
    decision = decide_promotion(choice, champion, TOL)
    assert decision.promote == promote
    if champion is None:
        assert "no current champion" in decision.summary()
    elif not promote:
        assert "worse than the champion on the same folds" in decision.summary()
