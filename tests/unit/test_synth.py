"""Synthetic history: canonical shape, determinism, internal consistency, truth, episodes, drift, files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from supplierrisk.schema import CANONICAL_FIELDS, STRING_FIELDS, conform
from supplierrisk.synth import SynthConfig, SynthHistory, generate_history, write_synth

SMALL = SynthConfig(suppliers=150, years=2.0, seed=3)


@pytest.fixture(scope="module")
def synth() -> SynthHistory:
    return generate_history(SMALL)


def _lead_days(history: pd.DataFrame) -> pd.Series:
    return (history["promised_date"] - history["order_date"]).dt.days


def test_history_is_canonical(synth: SynthHistory) -> None:
    history = synth.history
    assert tuple(history.columns[: len(CANONICAL_FIELDS)]) == CANONICAL_FIELDS
    assert list(history.columns[len(CANONICAL_FIELDS) :]) == ["extra_priority", "extra_distance_km"]
    pd.testing.assert_frame_equal(history, conform(history))
    for name in STRING_FIELDS:
        assert history[name].map(type).eq(str).all(), name
    assert set(history["extra_priority"]) == {"normal", "urgent"}
    assert history["extra_distance_km"].dtype == np.float64
    assert (history["extra_distance_km"] > 0).all()
    assert set(history["currency"]) == {"USD"}
    assert set(history["ship_mode"]) == {"Air", "Ocean", "Truck", "Courier"}
    assert 10_000 < len(history) < 30_000  # 150 suppliers x 2 years x 60 lines, give or take


def test_same_seed_same_frames_other_seed_other_frames() -> None:
    config = SynthConfig(suppliers=40, years=1.0, seed=7)
    a, b = generate_history(config), generate_history(config)
    for name in ("history", "truth", "episodes", "suppliers"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.export_date == b.export_date
    c = generate_history(SynthConfig(suppliers=40, years=1.0, seed=8))
    assert not a.history.equals(c.history)
    assert not a.suppliers.equals(c.suppliers)


def test_keys_dates_and_quantities_are_consistent(synth: SynthHistory) -> None:
    h, export = synth.history, synth.export_date
    assert not h.duplicated(["po_id", "line_id"]).any()
    assert export == pd.Timestamp(SMALL.start) + pd.Timedelta(days=round(2.0 * 365.25))
    assert h["order_date"].min() >= pd.Timestamp(SMALL.start)
    assert h["order_date"].max() < export
    assert (_lead_days(h) >= 1).all()
    done = h["delivered_date"].notna()
    assert (h.loc[done, "delivered_date"] >= h.loc[done, "order_date"]).all()
    assert (h.loc[done, "delivered_date"] <= export).all()
    # Open lines carry no post-delivery facts; delivered lines carry all of them.
    post = ["quantity_received", "quantity_rejected", "invoice_unit_price"]
    assert h.loc[~done, post].isna().all().all()
    assert h.loc[done, post].notna().all().all()
    assert (h.loc[done, "quantity_received"] <= h.loc[done, "quantity_ordered"]).all()
    assert (h.loc[done, "quantity_rejected"] <= h.loc[done, "quantity_received"]).all()
    partial = (h.loc[done, "quantity_received"] < h.loc[done, "quantity_ordered"]).mean()
    assert 0.01 < partial < 0.15
    assert 0.01 < (h.loc[done, "quantity_rejected"] > 0).mean() < 0.1
    differs = (h.loc[done, "invoice_unit_price"] != h.loc[done, "unit_price"]).mean()
    assert 0.02 < differs < 0.15
    assert (h["quantity_ordered"] >= 1).all()
    assert (h["unit_price"] > 0).all()


def test_po_numbers_are_chronological_and_lines_numbered(synth: SynthHistory) -> None:
    h = synth.history
    assert h["po_id"].is_monotonic_increasing  # fixed-width ids: string order is number order
    assert h["order_date"].is_monotonic_increasing
    per_po = h.groupby("po_id", sort=False)
    assert (per_po["supplier_id"].nunique() == 1).all()
    assert (per_po["order_date"].nunique() == 1).all()
    numbers = h["line_id"].astype(int)
    assert (numbers.groupby(h["po_id"]).cumcount() + 1).eq(numbers).all()
    assert 1.8 < per_po.size().mean() < 2.6


def test_open_lines_both_overdue_and_not_yet_due(synth: SynthHistory) -> None:
    h, export = synth.history, synth.export_date
    open_ = h["delivered_date"].isna()
    overdue = open_ & (h["promised_date"] < export)
    not_due = open_ & (h["promised_date"] >= export)
    assert overdue.sum() > 0
    assert not_due.sum() > 0
    # An open line past its promise is known late, and the truth agrees.
    assert synth.truth.loc[overdue, "late_true"].all()


def test_truth_aligns_with_history(synth: SynthHistory) -> None:
    h, truth = synth.history, synth.truth
    assert list(truth.columns) == [
        "po_id",
        "line_id",
        "supplier_id",
        "p_late_true",
        "late_true",
        "delay_days_true",
        "in_disruption",
    ]
    assert truth.index.equals(h.index)
    for key in ("po_id", "line_id", "supplier_id"):
        assert (truth[key].to_numpy() == h[key].to_numpy()).all()
    assert truth["p_late_true"].between(0, 1, inclusive="neither").all()
    late, delay = truth["late_true"], truth["delay_days_true"]
    assert (delay[late] >= 1).all()
    assert (delay[~late] == 0).all()
    done = h["delivered_date"].notna()
    observed = (h["delivered_date"] - h["promised_date"]).dt.days
    assert (observed[done] > 0).eq(late[done]).all()
    assert observed[done & late].eq(delay[done & late]).all()
    # On-time lines arrive on the promised day or a few days early, many exactly on it.
    early = -observed[done & ~late]
    assert early.between(0, 7).all()
    assert 0.4 < (early == 0).mean() < 0.7


def test_realised_late_rate_matches_true_probability(synth: SynthHistory) -> None:
    p = synth.truth["p_late_true"].to_numpy()
    late = synth.truth["late_true"].to_numpy()
    assert 0.08 < late.mean() < 0.25
    # Calibration by quintile of the true probability: within 4 standard errors in each bin.
    bins = np.digitize(p, np.quantile(p, [0.2, 0.4, 0.6, 0.8]))
    for b in range(5):
        in_bin = bins == b
        sd = np.sqrt((p[in_bin] * (1 - p[in_bin])).sum()) / in_bin.sum()
        assert abs(late[in_bin].mean() - p[in_bin].mean()) < 4 * sd, b
    assert np.corrcoef(p, late)[0, 1] > 0.2  # the probability is informative, not a constant


def test_late_lines_cluster_in_episodes(synth: SynthHistory) -> None:
    truth, h, episodes = synth.truth, synth.history, synth.episodes
    assert list(episodes.columns) == ["supplier_id", "start_date", "end_date"]
    length = (episodes["end_date"] - episodes["start_date"]).dt.days + 1
    assert length.between(30, 120).all()
    inside = truth["in_disruption"]
    assert 0.01 < inside.mean() < 0.3
    assert truth.loc[inside, "late_true"].mean() > 2.5 * truth.loc[~inside, "late_true"].mean()
    assert truth.loc[inside & truth["late_true"], "delay_days_true"].mean() > (
        2 * truth.loc[~inside & truth["late_true"], "delay_days_true"].mean()
    )
    # Independent re-computation: a line is in an episode when its promised date is.
    lines = pd.DataFrame(
        {"row": np.arange(len(h)), "supplier_id": h["supplier_id"], "day": h["promised_date"]}
    )
    pairs = lines.merge(episodes, on="supplier_id")
    hit = pairs.loc[(pairs["day"] >= pairs["start_date"]) & (pairs["day"] <= pairs["end_date"]), "row"]
    expected = np.zeros(len(h), dtype=bool)
    expected[hit.to_numpy()] = True
    assert (expected == inside.to_numpy()).all()


def test_suppliers_table_matches_lines(synth: SynthHistory) -> None:
    sup, h = synth.suppliers, synth.history
    assert len(sup) == SMALL.suppliers
    assert sup["supplier_id"].is_unique
    assert sup["supplier_id"].iloc[0] == "S00001"
    assert sup["supplier_country"].nunique() >= 8
    joined = h[["supplier_id", "supplier_name", "supplier_country", "category"]].merge(
        sup, on="supplier_id", suffixes=("", "_sup")
    )
    assert (joined["supplier_name"] == joined["supplier_name_sup"]).all()
    assert (joined["supplier_country"] == joined["supplier_country_sup"]).all()
    offered = [
        cat in cats.split("|") for cat, cats in zip(joined["category"], joined["categories"], strict=True)
    ]
    assert all(offered)
    n_categories = sup["categories"].str.count(r"\|") + 1
    assert n_categories.between(1, 3).all()


def test_ship_modes_have_their_own_lead_times(synth: SynthHistory) -> None:
    lead = _lead_days(synth.history).groupby(synth.history["ship_mode"]).median()
    assert 30 <= lead["Ocean"] <= 60
    assert 7 <= lead["Air"] <= 14
    assert 10 <= lead["Truck"] <= 20
    assert lead["Ocean"] > lead["Truck"] > lead["Air"]


def test_drift_switch_changes_only_the_last_months() -> None:
    config = SynthConfig(suppliers=200, years=2.0, seed=4)
    off = generate_history(config)
    on = generate_history(SynthConfig(suppliers=200, years=2.0, seed=4, drift=True))
    window = config.drift_start
    assert window == off.export_date - pd.DateOffset(months=3)

    def split(result: SynthHistory) -> tuple[pd.DataFrame, pd.DataFrame]:
        recent = result.history["order_date"] >= window
        return result.history[recent], result.history[~recent]

    # The draws do not depend on the switch: everything ordered before the window is identical.
    pd.testing.assert_frame_equal(split(on)[1], split(off)[1])
    pd.testing.assert_frame_equal(on.truth.loc[split(on)[1].index], off.truth.loc[split(off)[1].index])

    def ocean(frame: pd.DataFrame) -> float:
        return float((frame["ship_mode"] == "Ocean").mean())

    recent_on, earlier_on = split(on)
    recent_off, earlier_off = split(off)
    # Over 60 seeds the Ocean share moved +0.25..+0.31 with drift and -0.03..+0.03 without.
    assert ocean(recent_on) > ocean(earlier_on) + 0.2
    assert abs(ocean(recent_off) - ocean(earlier_off)) < 0.06
    # Same draws, so the same rows: drifted quantities are exactly the undrifted ones x 1.5.
    assert recent_on.index.equals(recent_off.index)
    expected = np.rint(recent_off["quantity_ordered"].to_numpy() * 1.5)
    np.testing.assert_array_equal(recent_on["quantity_ordered"].to_numpy(), expected)
    # Promised lead times shrink (compared on rows whose ship mode the drift left unchanged).
    same_mode = recent_on["ship_mode"] == recent_off["ship_mode"]
    shrink = _lead_days(recent_on[same_mode]) / _lead_days(recent_off[same_mode])
    assert 0.7 < shrink.median() < 0.85
    vietnam = recent_on["supplier_country"] == "Vietnam"
    assert (
        on.truth.loc[recent_on.index[vietnam], "p_late_true"].mean()
        > off.truth.loc[recent_off.index[vietnam], "p_late_true"].mean() + 0.1
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"suppliers": 0},
        {"years": 0.0},
        {"lines_per_supplier_per_year": 0.0},
        {"drift_months": 0},
        {"episodes_per_supplier_year": -1.0},
        {"start": "not a date"},
        {"shock_country": "Vietnam"},
        {"shock_country": "Atlantis", "shock_from": "2022-06-01"},
        {"shock_country": "Vietnam", "shock_from": "2022-06-01", "shock_odds": 0.0},
    ],
)
def test_config_rejects_impossible_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        SynthConfig(**bad)  # type: ignore[arg-type]


def test_tiny_config_gives_an_empty_but_canonical_history() -> None:
    result = generate_history(SynthConfig(suppliers=1, years=0.001))
    assert result.history.empty
    pd.testing.assert_frame_equal(result.history, conform(result.history))
    assert result.truth.empty


def test_write_synth_round_trips(tmp_path: Path) -> None:
    result = generate_history(SynthConfig(suppliers=30, years=1.0, seed=5, drift=True))
    out = tmp_path / "synth"
    paths = write_synth(result, out)
    assert paths == {name: out / f"{name}.parquet" for name in ("history", "truth", "episodes", "suppliers")}
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.values())  # no temp files
    history = pd.read_parquet(paths["history"])
    pd.testing.assert_frame_equal(history, result.history)
    pd.testing.assert_frame_equal(conform(history), result.history)
    for name in ("truth", "episodes", "suppliers"):
        pd.testing.assert_frame_equal(pd.read_parquet(paths[name]), getattr(result, name))


def test_disruption_truth_by_hand() -> None:
    from supplierrisk.synth import disruption_truth

    episodes = pd.DataFrame(
        {
            "supplier_id": ["A", "A", "B"],
            "start_date": pd.to_datetime(["2024-01-01", "2024-06-01", "2024-03-31"]),
            "end_date": pd.to_datetime(["2024-02-15", "2024-06-30", "2024-04-30"]),
        }
    )
    snaps = pd.DataFrame(
        {
            "supplier_id": ["A", "A", "B", "B", "C"],
            "as_of": pd.to_datetime(["2024-02-01", "2024-02-15", "2024-01-01", "2024-03-31", "2024-01-01"]),
        }
    )
    truth = disruption_truth(episodes, snaps, 90)
    # A at 1 Feb: under way (to 15 Feb). A at 15 Feb: first ended that day; second starts after 15 May.
    # B at 1 Jan: starts 31 Mar, day 90. B at 31 Mar: starts on the as-of itself, so under way only.
    assert truth["in_episode"].tolist() == [True, False, True, True, False]
    assert truth["episode_starts"].tolist() == [False, False, True, False, False]


def test_country_shock_raises_the_late_odds_of_that_country_from_its_day_only() -> None:
    plain = generate_history(SynthConfig(suppliers=80, years=2.0, seed=3))
    config = SynthConfig(
        suppliers=80, years=2.0, seed=3, shock_country="China", shock_from="2023-06-01", shock_odds=3.0
    )
    shocked = generate_history(config)
    hit = (shocked.history["supplier_country"] == "China") & (
        shocked.history["promised_date"] >= "2023-06-01"
    )
    before, after = plain.truth["p_late_true"], shocked.truth["p_late_true"]
    odds = lambda p: p / (1 - p)  # noqa: E731
    assert np.allclose(odds(after[hit]), 3.0 * odds(before[hit]))
    assert np.array_equal(after[~hit].to_numpy(), before[~hit].to_numpy())
    # Same random streams: only outcomes of shocked lines may change, and they turn late more often.
    assert shocked.truth.loc[hit, "late_true"].mean() > plain.truth.loc[hit, "late_true"].mean()
    assert shocked.history.loc[~hit, "delivered_date"].equals(plain.history.loc[~hit, "delivered_date"])
