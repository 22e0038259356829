import numpy as np
import pandas as pd

from supplierrisk.modeling.classifier import (
    CategoricalLgbm,
    Encoded,
    calibrate,
    cast_categoricals,
    encode_features,
    unseen_share,
)


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


def test_encoded_codes_are_the_pandas_category_codes() -> None:
    frame = pd.DataFrame({"x": [1.5, np.nan, 3.0], "m": ["Ocean", "Rail", None]})
    encoded = encode_features(frame, ["m", "x", "absent"], {"m": ["Air", "Ocean"]})
    assert isinstance(encoded, Encoded)
    assert encoded.shape == (3, 3)
    codes = cast_categoricals(frame, {"m": ["Air", "Ocean"]})["m"].cat.codes.to_numpy(dtype=float)
    np.testing.assert_array_equal(encoded.column("m"), np.where(codes < 0, np.nan, codes))
    np.testing.assert_array_equal(encoded.column("x"), [1.5, np.nan, 3.0])
    assert np.isnan(encoded.column("absent")).all()
    np.testing.assert_array_equal(encoded.select(["x", "m"])[:, 0], encoded.column("x"))
    assert np.isnan(encoded.select(["nowhere"])).all()


def test_encoded_path_predicts_exactly_as_lightgbm_on_pandas_categoricals() -> None:
    X, y = frame(2000, 3)
    model = CategoricalLgbm(categorical=("ship_mode",), params={"n_estimators": 80}, seed=2).fit(X, y)
    probe = X.head(50).assign(ship_mode=["Air", "Ocean", "Rail", None, "Air"] * 10)
    via_pandas = model.model_.predict(model._prepare(probe), raw_score=True)
    np.testing.assert_array_equal(model.decision_function(probe), via_pandas)
    np.testing.assert_array_equal(model.decision_function(model.encode(probe)), via_pandas)
