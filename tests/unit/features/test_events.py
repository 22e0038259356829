import numpy as np
import pytest

from supplierrisk.features.events import EVENTS, NO_DAY, EventIndex, _event_order, day_numbers


def brute_window(groups, days, values, qg, qd, window):
    out = np.zeros((len(qg), values.shape[1]))
    for i, (g, d) in enumerate(zip(qg, qd, strict=True)):
        mask = (groups == g) & (days < d) & (days >= d - window) & (days != NO_DAY)
        out[i] = values[mask].sum(axis=0)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_window_sum_and_last_day_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    groups = rng.integers(0, 5, n)
    days = rng.integers(1000, 1400, n)
    days[rng.random(n) < 0.1] = NO_DAY
    values = rng.normal(size=(n, 2))
    index = EventIndex(groups, days, values)
    qg = rng.integers(-1, 6, 50)
    qd = rng.integers(950, 1450, 50)
    for window in (1, 30, 365):
        expected = brute_window(groups, days, values, qg, qd, window)
        expected[qg < 0] = 0
        np.testing.assert_allclose(index.window_sum(qg, qd, window), expected, atol=1e-9)
    total = brute_window(groups, days, values, qg, qd, 10_000)
    total[qg < 0] = 0
    np.testing.assert_allclose(index.sum_before(qg, qd), total, atol=1e-9)
    for g, d, last in zip(qg, qd, index.last_day_before(qg, qd), strict=True):
        before = days[(groups == g) & (days < d) & (days != NO_DAY)]
        if g < 0 or len(before) == 0:
            assert np.isnan(last)
        else:
            assert last == before.max()


def test_decayed_sum_matches_definition() -> None:
    groups = np.array([0, 0, 0, 1])
    days = np.array([100, 190, 200, 150])
    values = np.array([[1.0], [2.0], [4.0], [8.0]])
    index = EventIndex(groups, days, values, keep_values=True)
    got = index.decayed_sum(np.array([0, 1, 2]), np.array([200, 250, 250]), half_life_days=10)
    expected0 = 1 * 2 ** (-100 / 10) + 2 * 2 ** (-10 / 10)
    np.testing.assert_allclose(got[:, 0], [expected0, 8 * 2 ** (-100 / 10), 0.0])


def test_decayed_sum_is_cached_per_half_life_without_changing_answers() -> None:
    groups = np.array([0, 0, 1])
    days = np.array([10, 20, 15])
    index = EventIndex(groups, days, np.array([[1.0], [1.0], [1.0]]), keep_values=True)
    first = index.decayed_sum(np.array([0, 1]), np.array([30, 30]), half_life_days=5)
    other = index.decayed_sum(np.array([0, 1]), np.array([30, 30]), half_life_days=50)
    again = index.decayed_sum(np.array([0, 1]), np.array([30, 30]), half_life_days=5)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first[:, 0], [2 ** (-2) + 2 ** (-4), 2 ** (-3)])
    np.testing.assert_allclose(other[:, 0], [2 ** (-0.2) + 2 ** (-0.4), 2 ** (-0.3)])


def test_day_numbers_marks_missing() -> None:
    days = day_numbers(np.array(["2024-01-01", "NaT", "2024-01-03"], dtype="datetime64[ns]"))
    assert days[1] == NO_DAY
    assert days[2] - days[0] == 2


def test_sums_are_bit_identical_for_any_row_order_with_same_day_ties() -> None:
    rng = np.random.default_rng(11)
    rows = 5000
    groups = rng.integers(0, 20, rows)
    days = rng.integers(0, 30, rows) + 200_000  # many events share a group and a day
    money = rng.uniform(0, 1e6, rows) * rng.choice([1e-3, 1.0, 1e3], rows)
    values = np.column_stack([np.ones(rows), money, np.round(money)])
    q_group, q_day = np.repeat(np.arange(20), 31), np.tile(np.arange(31) + 200_000, 20)
    expected = EventIndex(groups, days, values).window_sum(q_group, q_day, 10)
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(rows)
        shuffled = EventIndex(groups[order], days[order], values[order]).window_sum(q_group, q_day, 10)
        np.testing.assert_array_equal(shuffled, expected)  # exact: no tolerance


@pytest.mark.parametrize("queries", [3, 500])  # the few-row sizes of online scoring, and a batch
def test_event_count_column_answers_as_a_column_of_ones(queries: int) -> None:
    rng = np.random.default_rng(5)
    rows = 2000
    groups = rng.integers(-1, 30, rows)
    days = rng.integers(0, 200, rows) + 200_000
    days[rng.random(rows) < 0.05] = NO_DAY
    money = rng.uniform(0, 1e4, rows)
    stored = EventIndex(groups, days, [np.ones(rows), money], keep_values=True)
    counted = EventIndex(groups, days, [EVENTS, money], keep_values=True)
    only_counts = EventIndex(groups, days, [EVENTS])
    q_group, q_day = rng.integers(-1, 32, queries), rng.integers(-10, 220, queries) + 200_000
    np.testing.assert_array_equal(counted.sum_before(q_group, q_day), stored.sum_before(q_group, q_day))
    np.testing.assert_array_equal(
        counted.window_sum(q_group, q_day, 30), stored.window_sum(q_group, q_day, 30)
    )
    np.testing.assert_array_equal(
        counted.window_sum(q_group, q_day, 30, columns=[1, 0]),
        stored.window_sum(q_group, q_day, 30, columns=[1, 0]),
    )
    np.testing.assert_array_equal(
        counted.decayed_sum(q_group, q_day, 20.0), stored.decayed_sum(q_group, q_day, 20.0)
    )
    np.testing.assert_array_equal(
        counted.last_day_before(q_group, q_day), stored.last_day_before(q_group, q_day)
    )
    expected = stored.window_sums(q_group, q_day, (7, 90), columns=[0])
    got = only_counts.window_sums(q_group, q_day, (7, 90))
    for window in (7, 90):
        np.testing.assert_array_equal(got[window], expected[window])
    # Brute force on one query: the count is the number of the group's events in the window.
    g, d = 4, 200_150
    in_window = (groups == g) & (days < d) & (days >= d - 30) & (days != NO_DAY)
    assert only_counts.window_sum(np.array([g]), np.array([d]), 30)[0, 0] == in_window.sum() > 0


def test_whole_number_events_of_few_groups_summed_per_day_equal_events_sorted_one_by_one() -> None:
    rng = np.random.default_rng(9)
    rows = 20_000
    groups = rng.integers(-1, 6, rows)  # a few groups over 300 days: 1,800 cells for 20,000 events
    days = rng.integers(0, 300, rows) + 200_000
    days[rng.random(rows) < 0.05] = NO_DAY
    late = (rng.random(rows) < 0.2).astype(float)
    cells = EventIndex(groups, days, [EVENTS, late])
    # A fractional column makes the index sort its events one by one; its first two columns are the same.
    events = EventIndex(groups, days, [EVENTS, late, rng.uniform(0, 1, rows)])
    kept = (groups >= 0) & (days != NO_DAY)
    assert len(cells.key) == len(np.unique(groups[kept] * 1000 + days[kept])) < len(events.key) == kept.sum()
    q_group, q_day = rng.integers(-1, 8, 400), rng.integers(-10, 320, 400) + 200_000
    for window in (1, 7, 90, 10_000):
        np.testing.assert_array_equal(
            cells.window_sum(q_group, q_day, window),
            events.window_sum(q_group, q_day, window, columns=[0, 1]),
        )
    np.testing.assert_array_equal(cells.sum_before(q_group, q_day), events.sum_before(q_group, q_day)[:, :2])
    np.testing.assert_array_equal(
        cells.last_day_before(q_group, q_day), events.last_day_before(q_group, q_day)
    )
    shuffled = np.random.default_rng(1).permutation(rows)
    again = EventIndex(groups[shuffled], days[shuffled], [EVENTS, late[shuffled]])
    np.testing.assert_array_equal(again.window_sum(q_group, q_day, 30), cells.window_sum(q_group, q_day, 30))
    g, d = 2, 200_200
    in_window = (groups == g) & (days < d) & (days >= d - 30)
    expected = [in_window.sum(), late[in_window].sum()]
    np.testing.assert_array_equal(cells.window_sum(np.array([g]), np.array([d]), 30)[0], expected)


def test_whole_numbers_too_large_to_sum_exactly_are_sorted_one_by_one() -> None:
    groups = np.zeros(40, dtype=np.int64)
    days = np.repeat(np.arange(4), 10) + 200_000
    huge = np.full(40, 2.0**50)  # whole numbers, but their total passes 2**53: float sums could round
    index = EventIndex(groups, days, [EVENTS, huge])
    assert len(index.key) == 40  # one entry per event, not per day
    np.testing.assert_array_equal(index.sum_before(np.array([0]), np.array([200_002])), [[20, 20 * 2.0**50]])
    assert len(EventIndex(groups, days, [EVENTS, np.ones(40)]).key) == 4


@pytest.mark.parametrize("events", [0, 1, 2_000])
def test_event_order_is_the_lexsort_of_fractional_values_within_keys(events: int) -> None:
    rng = np.random.default_rng(events)
    key = rng.integers(0, 40, events).astype(np.int64) * 1_000 + rng.integers(0, 5, events)
    money = rng.choice([0.5, 1.25, -3.0, 0.0, -0.0, np.nan, 7.1], events)
    counts = rng.integers(0, 3, events).astype(float)
    cents = np.round(rng.normal(size=events), 2)
    values = np.column_stack([money, counts, cents]) if events else np.zeros((0, 3))
    expected = np.lexsort((cents, money, key))
    np.testing.assert_array_equal(_event_order(key, values, [False, True, False]), expected, strict=True)
    whole = np.argsort(key, kind="stable")
    np.testing.assert_array_equal(_event_order(key, values, [True, True, True]), whole, strict=True)
    # Keys too large to pack with their positions take numpy's stable argsort, with the same order.
    huge = key + np.int64(1 << 61)
    np.testing.assert_array_equal(_event_order(huge, values, [False, True, False]), expected, strict=True)
