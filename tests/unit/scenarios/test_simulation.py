"""The Monte Carlo's properties: common random numbers, reproducibility, means kept, disruptions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from supplierrisk.modeling.dispersion import Dispersion
from supplierrisk.scenarios.simulation import (
    MonteCarloInputs,
    episode_chance,
    expected_late,
    keyed_uniforms,
    simulate,
)

LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)
CLUSTERED = Dispersion(1.0, 0.5)


def inputs(
    p: np.ndarray,
    supplier: np.ndarray,
    weights: dict[str, np.ndarray],
    line: np.ndarray | None = None,
    p_disruption: np.ndarray | None = None,
    due: np.ndarray | None = None,
    dispersion: Dispersion = CLUSTERED,
    episode_days: float = 30.0,
) -> MonteCarloInputs:
    n = len(p)
    n_suppliers = int(supplier.max()) + 1
    due = due if due is not None else np.linspace(1, 89, n)
    return MonteCarloInputs(
        line=line if line is not None else np.arange(n),
        supplier=supplier,
        week=supplier * 20 + (due // 7).astype(int),
        p_late=p,
        conditional_delay=np.tile(np.array([2.0, 4.0, 7.0, 12.0, 20.0]), (n, 1)),
        levels=LEVELS,
        value=np.full(n, 100.0),
        due_offset_days=due,
        weights=weights,
        p_disruption=p_disruption if p_disruption is not None else np.full(n_suppliers, 0.1),
        episode_days=np.full(n_suppliers, episode_days),
        horizon_days=90,
        dispersion=dispersion,
    )


def test_the_identity_allocation_equals_the_baseline_draw_for_draw() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0.02, 0.6, 200)
    w = np.ones(200)
    draws = simulate(inputs(p, rng.integers(0, 5, 200), {"baseline": w, "scenario": w.copy()}), 500, seed=7)
    for kind in (draws.late_lines, draws.late_value, draws.days_late):
        assert np.array_equal(kind["baseline"], kind["scenario"])
    assert draws.late_lines["baseline"].std() > 0


def test_a_scenario_adding_a_supplier_leaves_the_baseline_draws_unchanged() -> None:
    rng = np.random.default_rng(4)
    p = rng.uniform(0.02, 0.6, 80)
    supplier = rng.integers(0, 3, 80)
    alone = simulate(inputs(p, supplier, {"baseline": np.ones(80)}), 400, seed=9)
    # The same lines, plus placements of every line with a fourth supplier taking half in the scenario.
    both = inputs(
        np.r_[p, p * 0.5],
        np.r_[supplier, np.full(80, 3)],
        {"baseline": np.r_[np.ones(80), np.zeros(80)], "scenario": np.full(160, 0.5)},
        line=np.r_[np.arange(80), np.arange(80)],
        due=np.r_[np.linspace(1, 89, 80), np.linspace(1, 89, 80)],
    )
    together = simulate(both, 400, seed=9)
    assert np.array_equal(alone.late_lines["baseline"], together.late_lines["baseline"])
    # Days are sums of floats: equal to rounding (the sums run over more placements).
    assert np.allclose(alone.days_late["baseline"], together.days_late["baseline"], rtol=1e-12, atol=0)


def test_keyed_uniforms_are_uniform_and_independent_across_streams() -> None:
    keys = np.arange(2000, dtype=np.uint64)
    runs = np.arange(50, dtype=np.uint64)
    first, second = keyed_uniforms(keys, runs, 1, 3), keyed_uniforms(keys, runs, 1, 4)
    assert first.min() > 0
    assert first.max() < 1
    assert abs(first.mean() - 0.5) < 0.005
    assert abs(np.corrcoef(first.ravel(), second.ravel())[0, 1]) < 0.01
    assert np.array_equal(first, keyed_uniforms(keys, runs, 1, 3))
    assert not np.array_equal(first, keyed_uniforms(keys, runs, 2, 3))


def test_a_fixed_seed_reproduces_the_runs_and_another_seed_does_not() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0.02, 0.6, 100)
    case = inputs(p, rng.integers(0, 4, 100), {"baseline": np.ones(100)})
    first, again, other = simulate(case, 700, 11), simulate(case, 700, 11), simulate(case, 700, 12)
    assert np.array_equal(first.late_lines["baseline"], again.late_lines["baseline"])
    assert np.array_equal(first.days_late["baseline"], again.days_late["baseline"])
    assert not np.array_equal(first.late_lines["baseline"], other.late_lines["baseline"])


def test_the_mean_of_the_draws_is_the_calibrated_sum_whatever_the_shifts_and_disruptions() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0.01, 0.5, 60)
    case = inputs(
        p, rng.integers(0, 3, 60), {"baseline": np.ones(60)}, p_disruption=np.array([0.3, 0.05, 0.6])
    )
    counts = simulate(case, 20_000, 5).late_lines["baseline"]
    expected = expected_late(case).sum()
    # Each line's mean stays max(p_late, episode chance): the shifts and episodes add spread only.
    assert abs(counts.mean() - expected) < 4 * counts.std() / np.sqrt(len(counts))
    independent = np.sqrt((p * (1 - p)).sum())
    assert counts.std() > 1.5 * independent  # shared shifts: wider than independent lines


def test_the_episode_chance_is_the_overlap_of_the_episode_with_the_due_day() -> None:
    case = inputs(
        np.array([0.0, 0.0, 0.0]),
        np.array([0, 0, 0]),
        {"baseline": np.ones(3)},
        p_disruption=np.array([0.5]),
        due=np.array([10.0, 60.0, 130.0]),
    )
    # Start uniform on [0, 90), episode 30 days: due 10 -> start in [0, 10]; due 60 -> (30, 60]; 130 -> never.
    assert np.allclose(episode_chance(case), [0.5 * 10 / 90, 0.5 * 30 / 90, 0.0])


def test_a_disrupted_suppliers_lines_are_late_for_the_rest_of_its_episode() -> None:
    case = inputs(
        np.array([0.0]),
        np.array([0]),
        {"baseline": np.ones(1)},
        p_disruption=np.array([1.0]),
        due=np.array([45.0]),
        dispersion=Dispersion(0.0, 0.0),
        episode_days=90.0,
    )
    draws = simulate(case, 8000, 3)
    late = draws.late_lines["baseline"] == 1
    # Never late on its own (p_late 0): late exactly when the episode (start uniform on [0, 90),
    # 90 days long) covers day 45, that is when it starts by day 45.
    assert abs(late.mean() - 0.5) < 0.03
    days = draws.days_late["baseline"][late]
    # Late for the rest of the episode: start + 90 - 45 days, 45 to 90, 67.5 on average.
    assert days.min() >= 45.0
    assert abs(days.mean() - 67.5) < 1.5
    assert (draws.days_late["baseline"][~late] == 0).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
)
def test_moving_volume_to_a_supplier_with_lower_risk_never_raises_expected_late_lines(
    p_giver: list[float], cut: float, moved: float, q_ratio: float
) -> None:
    p = np.array(p_giver)
    n = len(p)
    p_taker = p * cut  # the taker is no riskier on any line, and no likelier to be disrupted
    both = np.r_[p, p_taker]
    supplier = np.r_[np.zeros(n, int), np.ones(n, int)]
    line = np.r_[np.arange(n), np.arange(n)]
    before = np.r_[np.ones(n), np.zeros(n)]
    after = np.r_[np.full(n, 1 - moved), np.full(n, moved)]
    case = inputs(
        both,
        supplier,
        {"baseline": before, "scenario": after},
        line=line,
        p_disruption=np.array([0.4, 0.4 * q_ratio]),
        due=np.r_[np.linspace(1, 89, n), np.linspace(1, 89, n)],
    )
    expected = expected_late(case)
    assert expected @ after <= expected @ before + 1e-12
