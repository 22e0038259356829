"""Behaviour tests of a trained disruption model: more severe delays never lower risk; sparse means prior."""

import numpy as np
import pandas as pd
import pytest

from supplierrisk.features import Tolerances
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.modeling.disruption import DisruptionModel, train_disruption
from supplierrisk.modeling.scoring import history_at, score_supplier_risk
from supplierrisk.schema import conform
from supplierrisk.synth import SynthConfig, generate_history


@pytest.fixture(scope="module")
def trained() -> tuple[DisruptionModel, pd.DataFrame, pd.Timestamp]:
    """A model of the volume-driven event (a severe line due), on a small history."""
    synth = generate_history(SynthConfig(suppliers=150, years=3.0, seed=11))
    config = TrainConfig.model_validate(
        {"model": "disruption", "event": {"kind": "any_severe"}, "backtest": {"folds": 2, "test_days": 120}}
    )
    training = train_disruption(synth.history, synth.export_date, config, Tolerances())
    return training.model, synth.history, synth.export_date


@pytest.fixture(scope="module")
def excursion_trained() -> tuple[DisruptionModel, pd.DataFrame, pd.Timestamp]:
    """A model of the volume-free event (worse than its own normal), on enough lines to learn it."""
    synth = generate_history(SynthConfig(suppliers=300, years=3.0, seed=11, lines_per_supplier_per_year=120))
    config = TrainConfig.model_validate(
        {"model": "disruption", "event": {"kind": "excursion"}, "backtest": {"folds": 2, "test_days": 120}}
    )
    training = train_disruption(synth.history, synth.export_date, config, Tolerances())
    # Not the constant global rate: otherwise the behaviour tests below would hold trivially.
    assert training.model.candidate != "global_event_rate", training.choice.sentence()
    return training.model, synth.history, synth.export_date


def risk(model: DisruptionModel, history: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    scored = score_supplier_risk(model, history_at(history, as_of, model.feature_config), explain=False)
    return scored.set_index("supplier_id")["p_disruption"]


@pytest.mark.parametrize("fixture", ["trained", "excursion_trained"])
def test_adding_severe_delays_to_recent_history_never_lowers_risk(fixture: str, request) -> None:
    model, history, as_of = request.getfixturevalue(fixture)
    base = risk(model, history, as_of)
    delivered = history["delivered_date"]
    # Recent deliveries that arrived on time and took at least 20 days: move each promise to 20 days
    # before the delivery, so the same delivery becomes a >= 14-day delay (nothing else changes).
    candidates = history.loc[
        (delivered >= as_of - pd.Timedelta(days=60))
        & (delivered < as_of)
        & (delivered <= history["promised_date"])
        & ((delivered - history["order_date"]).dt.days >= 20)
    ]
    suppliers = candidates["supplier_id"].drop_duplicates().head(40)
    assert len(suppliers) >= 20
    for k in (1, 3):
        worse = history.copy()
        chosen = (
            candidates.loc[candidates["supplier_id"].isin(suppliers)].groupby("supplier_id").head(k).index
        )
        worse.loc[chosen, "promised_date"] = worse.loc[chosen, "delivered_date"] - pd.Timedelta(days=20)
        after = risk(model, worse, as_of)
        change = after[suppliers] - base[suppliers]
        assert (change >= -1e-12).all(), change[change < 0]
        assert (change > 0).mean() > 0.5  # the model does react to them


def test_a_supplier_with_one_line_gets_a_prior_driven_risk(trained) -> None:
    model, history, as_of = trained
    template = history.loc[history["delivered_date"] < as_of - pd.Timedelta(days=30)].iloc[0].to_dict()
    rows = []
    for supplier, delay in (("ONE-ON-TIME", 0), ("ONE-SEVERE", 30)):
        row = dict(template, supplier_id=supplier, po_id=f"PO-{supplier}")
        row["order_date"] = as_of - pd.Timedelta(days=120)
        row["promised_date"] = as_of - pd.Timedelta(days=90)
        row["delivered_date"] = row["promised_date"] + pd.Timedelta(days=delay)
        rows.append(row)
    extended = pd.concat([history, conform(pd.DataFrame(rows))], ignore_index=True)
    p = risk(model, extended, as_of)
    established = p.drop(["ONE-ON-TIME", "ONE-SEVERE"])
    low, high = established.quantile([0.02, 0.98])
    for supplier in ("ONE-ON-TIME", "ONE-SEVERE"):
        # Neither extreme: inside the central 96 % of established suppliers' risks.
        assert low <= p[supplier] <= high, (supplier, p[supplier], low, high)
    # One severe delay moves a one-line supplier far less than the spread between established ones.
    assert abs(p["ONE-SEVERE"] - p["ONE-ON-TIME"]) < established.std()


def test_scores_do_not_depend_on_row_order(trained) -> None:
    model, history, as_of = trained
    shuffled = history.sample(frac=1.0, random_state=3).reset_index(drop=True)
    # Exactly, ranking included: same-day money sums add up in one order whatever the row order.
    pd.testing.assert_series_equal(
        risk(model, history, as_of), risk(model, shuffled, as_of), check_exact=True
    )


def test_score_and_band_follow_the_probability(trained) -> None:
    model, history, as_of = trained
    scored = score_supplier_risk(model, history_at(history, as_of, model.feature_config), top=20)
    assert scored["p_disruption"].is_monotonic_decreasing
    np.testing.assert_array_equal(scored["risk_score"], np.round(100 * scored["p_disruption"]).astype(int))
    medium, high = model.bands
    expected = np.where(
        scored["p_disruption"] >= high, "high", np.where(scored["p_disruption"] >= medium, "medium", "low")
    )
    np.testing.assert_array_equal(scored["risk_band"], expected)
    assert scored["driver_1"].str.len().gt(0).all()
    assert all(len(d) == 3 for d in scored["drivers"])


def _clone(history: pd.DataFrame, supplier: str, name: str, copies: int) -> pd.DataFrame:
    """``supplier``'s lines as a new supplier ``name``, each line repeated ``copies`` times."""
    lines = history.loc[history["supplier_id"] == supplier]
    out = pd.concat([lines] * copies, ignore_index=True)
    out["supplier_id"] = name
    out["po_id"] = [f"{name}-{i}" for i in range(len(out))]
    return out


def test_ten_times_the_volume_is_not_ten_times_the_risk(excursion_trained) -> None:
    # Same lines, same outcomes, ten times as many: the event is about the supplier's state, not its size.
    model, history, as_of = excursion_trained
    recent = history.loc[history["order_date"] >= as_of - pd.Timedelta(days=365), "supplier_id"]
    counts = recent.value_counts()
    suppliers = counts[(counts >= 30) & (counts <= 120)].index[:5]
    assert len(suppliers) == 5
    clones = [_clone(history, s, f"{s}-x{k}", k) for s in suppliers for k in (1, 10)]
    p = risk(model, pd.concat([history, *clones], ignore_index=True), as_of)
    for s in suppliers:
        low, high = sorted((p[f"{s}-x1"], p[f"{s}-x10"]))
        assert high <= 1.5 * low, (s, p[f"{s}-x1"], p[f"{s}-x10"])


def _steady_lines(template: dict, name: str, as_of: pd.Timestamp, late_share: list[tuple[int, float]]):
    """Ten lines a month for a year before ``as_of``; ``late_share`` gives (days before as-of, share late)."""
    rows = []
    for i in range(120):
        promised = as_of - pd.Timedelta(days=365) + pd.Timedelta(days=3 * i)
        share = next(s for start, s in late_share if (as_of - promised).days <= start)
        late = (i * 7919 % 100) / 100 < share  # a fixed, evenly spread pattern
        row = dict(template, supplier_id=name, po_id=f"{name}-{i}")
        row["order_date"] = promised - pd.Timedelta(days=30)
        row["promised_date"] = promised
        row["delivered_date"] = promised + pd.Timedelta(days=20 if late else 0)
        rows.append(row)
    return pd.DataFrame(rows)


def test_a_supplier_worse_than_its_own_normal_outranks_one_always_that_bad(excursion_trained) -> None:
    model, history, as_of = excursion_trained
    as_of_lines = as_of - pd.Timedelta(days=1)
    template = history.loc[history["delivered_date"].notna()].iloc[0].to_dict()
    # SLIPPING: 10 % late for eleven months, 60 % in the last 30 days; MEDIOCRE: 60 % late all year.
    slipping = _steady_lines(template, "SLIPPING", as_of_lines, [(30, 0.6), (400, 0.1)])
    mediocre = _steady_lines(template, "MEDIOCRE", as_of_lines, [(400, 0.6)])
    p = risk(model, pd.concat([history, conform(pd.concat([slipping, mediocre]))], ignore_index=True), as_of)
    assert p["SLIPPING"] > p["MEDIOCRE"], (p["SLIPPING"], p["MEDIOCRE"])
