"""What a scenario asks: the category, the as-of and horizon, the allocation and its options.

Shares and shifts are parsed and validated here, once, for the CLI, the API and the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

DEFAULT_HORIZON_DAYS = 90
DEFAULT_RUNS = 2000
# The documented default seed: the same inputs and seed give the same draws.
DEFAULT_SEED = 20151
# A supplier with fewer delivered lines than this in the year before the as-of gets a warning.
MIN_CONFIDENT_LINES = 20
_SHARE_TOLERANCE = 1e-6


class ScenarioInputError(ValueError):
    """A scenario's inputs do not make sense (shares not summing to 1, unknown suppliers, ...)."""


@dataclass(frozen=True)
class Shift:
    """Move ``share`` of ``source``'s volume to ``target``."""

    source: str
    target: str
    share: float


@dataclass(frozen=True)
class Allocation:
    """Either target shares per supplier (summing to 1) or shifts between suppliers."""

    shares: dict[str, float] | None = None
    shifts: tuple[Shift, ...] = ()

    def __post_init__(self) -> None:
        if (self.shares is None) == (not self.shifts):
            raise ScenarioInputError("give either target shares or shifts, not both and not neither")
        if self.shares is not None:
            _check_shares(self.shares)
        else:
            _check_shifts(self.shifts)

    def suppliers(self) -> set[str]:
        """Every supplier the allocation names."""
        if self.shares is not None:
            return set(self.shares)
        return {s.source for s in self.shifts} | {s.target for s in self.shifts}


def _check_fraction(value: float, what: str) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ScenarioInputError(f"{what} must be a number between 0 and 1, not {value!r}")


def _check_shares(shares: dict[str, float]) -> None:
    if not shares:
        raise ScenarioInputError("target shares are empty: give at least one SUPPLIER=SHARE")
    for supplier, share in shares.items():
        _check_fraction(share, f"the share of {supplier!r}")
    total = sum(shares.values())
    if abs(total - 1.0) > _SHARE_TOLERANCE:
        raise ScenarioInputError(f"target shares must sum to 1, they sum to {total:.6g}")


def _check_shifts(shifts: tuple[Shift, ...]) -> None:
    moved: dict[str, float] = {}
    for shift in shifts:
        _check_fraction(shift.share, f"the share moved from {shift.source!r} to {shift.target!r}")
        if shift.source == shift.target:
            raise ScenarioInputError(f"a shift from {shift.source!r} to itself moves nothing")
        moved[shift.source] = moved.get(shift.source, 0.0) + shift.share
    for source, total in moved.items():
        if total > 1.0 + _SHARE_TOLERANCE:
            raise ScenarioInputError(f"shifts move {total:.0%} of {source!r}'s volume: at most 100% can move")


def parse_shift(text: str) -> Shift:
    """``FROM=TO:SHARE`` (the share of FROM's volume that moves to TO), e.g. ``Mylan=Aurobindo:0.3``."""
    head, sep, share = text.rpartition(":")
    source, eq, target = head.partition("=")
    if not sep or not eq or not source.strip() or not target.strip():
        raise ScenarioInputError(f"--shift {text!r} is not FROM=TO:SHARE (for example 'A=B:0.3')")
    return Shift(source.strip(), target.strip(), _number(share, f"--shift {text!r}"))


def parse_shares(text: str) -> dict[str, float]:
    """``S=SHARE,S2=SHARE`` into a dict; supplier names may not contain ``,``."""
    shares: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        supplier, eq, value = part.rpartition("=")
        if not eq or not supplier.strip():
            raise ScenarioInputError(f"--shares part {part!r} is not SUPPLIER=SHARE")
        if supplier.strip() in shares:
            raise ScenarioInputError(f"--shares names {supplier.strip()!r} twice")
        shares[supplier.strip()] = _number(value, f"--shares part {part!r}")
    return shares


def _number(text: str, what: str) -> float:
    try:
        value = float(text.strip().rstrip("%")) / (100.0 if text.strip().endswith("%") else 1.0)
    except ValueError:
        raise ScenarioInputError(f"{what}: {text.strip()!r} is not a number") from None
    return value


@dataclass(frozen=True)
class SupplierOptions:
    """Optional per-supplier facts: capacity multiple, time to recover, inventory cover, excluded items."""

    capacity_multiple: dict[str, float] = field(default_factory=dict)
    time_to_recover_days: dict[str, float] = field(default_factory=dict)
    inventory_cover_days: dict[str, float] = field(default_factory=dict)
    excluded_items: dict[str, frozenset[str]] = field(default_factory=dict)

    def named(self) -> set[str]:
        """Suppliers any option names."""
        return (
            set(self.capacity_multiple)
            | set(self.time_to_recover_days)
            | set(self.inventory_cover_days)
            | set(self.excluded_items)
        )


@dataclass(frozen=True)
class ScenarioRequest:
    """One scenario: a category's demand over a horizon after an as-of, and how to allocate it."""

    category: str
    allocation: Allocation
    as_of: pd.Timestamp | None = None
    horizon_days: int = DEFAULT_HORIZON_DAYS
    runs: int = DEFAULT_RUNS
    seed: int = DEFAULT_SEED
    planned: pd.DataFrame | None = None
    options: SupplierOptions = field(default_factory=SupplierOptions)

    def __post_init__(self) -> None:
        if not 7 <= self.horizon_days <= 730:
            raise ScenarioInputError(f"horizon must be 7 to 730 days, not {self.horizon_days}")
        if not 100 <= self.runs <= 100_000:
            raise ScenarioInputError(f"runs must be 100 to 100,000, not {self.runs}")
