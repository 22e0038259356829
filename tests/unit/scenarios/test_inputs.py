"""Scenario inputs: shares and shifts parsed and validated once, with one-line errors."""

from __future__ import annotations

import pytest

from supplierrisk.scenarios import (
    Allocation,
    ScenarioInputError,
    ScenarioRequest,
    Shift,
    parse_shares,
    parse_shift,
)


def test_a_shift_parses_from_to_and_share() -> None:
    assert parse_shift("Mylan=Aurobindo:0.3") == Shift("Mylan", "Aurobindo", 0.3)
    assert parse_shift(" A = B : 30% ") == Shift("A", "B", 0.3)
    # Names may hold ':' or '=' before the last separator (the share is after the last ':').
    assert parse_shift("Unit 5: Hyderabad=B:0.5") == Shift("Unit 5: Hyderabad", "B", 0.5)


@pytest.mark.parametrize("text", ["A-B:0.3", "A=B", "=B:0.3", "A=:0.3", "A=B:lots"])
def test_a_malformed_shift_is_refused(text: str) -> None:
    with pytest.raises(ScenarioInputError, match="FROM=TO:SHARE|not a number"):
        parse_shift(text)


def test_shares_parse_and_must_sum_to_one() -> None:
    assert parse_shares("A=0.6, B=0.4") == {"A": 0.6, "B": 0.4}
    Allocation(shares={"A": 0.6, "B": 0.4})
    with pytest.raises(ScenarioInputError, match="sum to 1, they sum to 1.1"):
        Allocation(shares={"A": 0.6, "B": 0.5})
    with pytest.raises(ScenarioInputError, match="twice"):
        parse_shares("A=0.5,A=0.5")
    with pytest.raises(ScenarioInputError, match="SUPPLIER=SHARE"):
        parse_shares("A0.5")


@pytest.mark.parametrize("share", [-0.1, 1.5, float("nan"), float("inf")])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(ScenarioInputError, match="between 0 and 1"):
        Allocation(shares={"A": share, "B": 1 - share})
    with pytest.raises(ScenarioInputError, match="between 0 and 1"):
        Allocation(shifts=(Shift("A", "B", share),))


def test_shifts_may_not_move_more_than_all_or_to_the_same_supplier() -> None:
    with pytest.raises(ScenarioInputError, match="at most 100%"):
        Allocation(shifts=(Shift("A", "B", 0.7), Shift("A", "C", 0.5)))
    with pytest.raises(ScenarioInputError, match="to itself"):
        Allocation(shifts=(Shift("A", "A", 0.2),))


def test_an_allocation_is_shares_or_shifts_not_both_nor_neither() -> None:
    with pytest.raises(ScenarioInputError, match="either"):
        Allocation()
    with pytest.raises(ScenarioInputError, match="either"):
        Allocation(shares={"A": 1.0}, shifts=(Shift("A", "B", 0.1),))
    with pytest.raises(ScenarioInputError, match="empty"):
        Allocation(shares={})


def test_horizon_and_runs_are_bounded() -> None:
    allocation = Allocation(shares={"A": 1.0})
    with pytest.raises(ScenarioInputError, match="horizon"):
        ScenarioRequest("C", allocation, horizon_days=3)
    with pytest.raises(ScenarioInputError, match="runs"):
        ScenarioRequest("C", allocation, runs=10)
