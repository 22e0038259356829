"""Behaviour tests of a trained OTD model (Made-With-ML style): directional, invariance, minimum function."""

import numpy as np
import pandas as pd
import pytest

from supplierrisk.features import HistoryIndex, Tolerances
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.modeling.otd import OtdModel, is_lateness_feature, train_otd
from supplierrisk.modeling.scoring import score_lines
from supplierrisk.synth import SynthConfig, generate_history


@pytest.fixture(scope="module")
def trained() -> tuple[OtdModel, pd.DataFrame, pd.Timestamp]:
    synth = generate_history(SynthConfig(suppliers=80, years=2.5, seed=5))
    config = TrainConfig()
    config = config.model_copy(update={"backtest": config.backtest.model_copy(update={"test_days": 60})})
    training = train_otd(synth.history, synth.export_date, config, Tolerances())
    return training.model, synth.history, synth.export_date


def test_more_recent_lateness_never_lowers_the_late_probability(trained) -> None:
    model, history, as_of = trained
    lines = history.tail(300)
    index = HistoryIndex(history, model.feature_config)
    from supplierrisk.modeling.scoring import line_features

    features = line_features(model, index, lines, as_of)
    base = model.predict_proba(features)
    worse = features.copy()
    for column in [c for c in features.columns if is_lateness_feature(c)]:
        worse[column] = np.clip(worse[column] + 0.15, 0, 0.999).astype(np.float32)
    assert (model.predict_proba(worse) >= base - 1e-9).all()


def test_predictions_do_not_depend_on_row_order(trained) -> None:
    model, history, as_of = trained
    index = HistoryIndex(history, model.feature_config)
    lines = history.tail(200)
    shuffled = lines.sample(frac=1.0, random_state=1)
    a = score_lines(model, index, lines, as_of).set_index(["po_id", "line_id"]).sort_index()
    b = score_lines(model, index, shuffled, as_of).set_index(["po_id", "line_id"]).sort_index()
    pd.testing.assert_frame_equal(a, b)


def test_unseen_supplier_and_category_get_prior_driven_predictions(trained) -> None:
    model, history, as_of = trained
    index = HistoryIndex(history, model.feature_config)
    line = history.tail(1).assign(supplier_id="NEW-SUPPLIER", category="never-seen", ship_mode="Rail")
    scored = score_lines(model, index, line, as_of)
    p = float(scored["p_late"].iloc[0])
    assert 0.01 < p < 0.6
    assert scored["risk_band"].iloc[0] in {"low", "medium", "high"}


def test_drivers_name_features_that_push_the_probability_up(trained) -> None:
    model, history, as_of = trained
    from supplierrisk.modeling.scoring import HistoryAt, score_new_lines

    at = HistoryAt(as_of, history, HistoryIndex(history, model.feature_config))
    scored = score_new_lines(model, at, history.tail(5), as_of, explain=True, top=3)
    assert len(scored) == 5
    for row in scored["drivers"]:
        assert len(row) == 3
        assert all(d["feature"] in model.feature_names and d["text"] for d in row)
        contributions = [d["contribution"] for d in row]
        assert contributions == sorted(contributions, reverse=True)
