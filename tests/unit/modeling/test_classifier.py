import numpy as np
import pandas as pd

from supplierrisk.modeling.classifier import CategoricalLgbm, calibrate, cast_categoricals, unseen_share


def frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    mode = rng.choice(["Air", "Ocean"], n)
    x = rng.normal(size=n)
    logit = -1.5 + 1.5 * (mode == "Ocean") + x
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"ship_mode": mode, "x": x, "rate": np.clip(0.2 + 0.1 * x, 0.01, 0.99)}), y


def test_cast_uses_training_categories_and_flags_unseen() -> None:
    cast = cast_categoricals(pd.DataFrame({"m": ["Air", "Rail", None]}), {"m": ["Air", "Ocean"]})
    assert list(cast["m"].cat.categories) == ["Air", "Ocean"]
    assert cast["m"].isna().tolist() == [False, True, True]
    assert unseen_share(pd.DataFrame({"m": ["Air", "Rail", None]}), {"m": ["Air"]}) == {"m": 0.5}


def test_fit_predict_with_unseen_category_and_offset() -> None:
    X, y = frame(3000, 0)
    X_stop, y_stop = frame(800, 1)
    model = CategoricalLgbm(
        categorical=("ship_mode",), params={"n_estimators": 200}, seed=1, offset_feature="rate"
    )
    model.fit(X, y, eval_set=(X_stop, y_stop))
    probe = X.head(4).assign(ship_mode=["Air", "Ocean", "Rail", None])
    p = model.predict_proba(probe)[:, 1]
    assert np.all((p > 0) & (p < 1))
    ocean = X.head(200).assign(ship_mode="Ocean")
    air = X.head(200).assign(ship_mode="Air")
    assert model.predict_proba(ocean)[:, 1].mean() > model.predict_proba(air)[:, 1].mean()
    contributions = model.contributions(X.head(3))
    assert list(contributions.columns) == ["ship_mode", "x", "rate"]


def test_calibration_is_chosen_out_of_time_and_deterministic() -> None:
    X, y = frame(3000, 0)
    X_cal, y_cal = frame(1000, 2)
    model = CategoricalLgbm(categorical=("ship_mode",), params={"n_estimators": 100}, seed=1).fit(X, y)
    calibrated, method, scores = calibrate(model, X_cal, y_cal, ("isotonic", "sigmoid"))
    assert method in {"isotonic", "sigmoid"}
    assert set(scores) == {"isotonic", "sigmoid"}
    assert method == min(scores, key=lambda m: scores[m])
    again = CategoricalLgbm(categorical=("ship_mode",), params={"n_estimators": 100}, seed=1).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X_cal), again.predict_proba(X_cal))
    p = calibrated.predict_proba(X_cal)[:, 1]
    assert abs(p.mean() - y_cal.mean()) < 0.03
