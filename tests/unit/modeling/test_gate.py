import pandas as pd

from supplierrisk.modeling.gate import decide_promotion


def means(model_auc: float, model_brier: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"roc_auc": [model_auc, 0.5, 0.70], "brier": [model_brier, 0.12, 0.10]},
        index=["model", "global_rate", "supplier_trailing_rate"],
    )


def test_promotes_when_beating_best_baseline_on_both() -> None:
    decision = decide_promotion(means(0.75, 0.09), None, 0.0, 0.0)
    assert decision.promote
    assert "no current champion" in decision.summary()


def test_keeps_challenger_when_brier_or_auc_fails() -> None:
    assert not decide_promotion(means(0.75, 0.11), None, 0.0, 0.0).promote
    assert not decide_promotion(means(0.69, 0.09), None, 0.0, 0.0).promote
    failing = decide_promotion(means(0.75, 0.09), None, 0.1, 0.0)
    assert not failing.promote
    assert "does not beat supplier_trailing_rate 0.7000 + 0.1" in failing.summary()


def test_champion_comparison_on_same_folds() -> None:
    assert decide_promotion(means(0.75, 0.09), {"roc_auc": 0.75, "brier": 0.09}, 0.0, 0.0).promote
    worse = decide_promotion(means(0.75, 0.09), {"roc_auc": 0.76, "brier": 0.09}, 0.0, 0.0)
    assert not worse.promote
    assert "worse than the champion" in worse.summary()
