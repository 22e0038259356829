"""Sourcing scenarios: late lines, risk, cost and concentration if volume moves between suppliers.

``run_scenario`` takes a category's demand over a horizon (the last period's lines, or
planned quantities), re-assigns it by target shares or shifts, re-scores every line as
if placed with its new supplier through the one feature path, and draws baseline and
scenario together in a Monte Carlo with common random numbers. ``validate`` replays
history to check the intervals against what happened.
"""

from supplierrisk.scenarios.engine import DispersionMissingError, Models, ScenarioResult, run_scenario
from supplierrisk.scenarios.inputs import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_RUNS,
    DEFAULT_SEED,
    Allocation,
    ScenarioInputError,
    ScenarioRequest,
    Shift,
    SupplierOptions,
    parse_shares,
    parse_shift,
)

__all__ = [
    "DEFAULT_HORIZON_DAYS",
    "DEFAULT_RUNS",
    "DEFAULT_SEED",
    "Allocation",
    "DispersionMissingError",
    "Models",
    "ScenarioInputError",
    "ScenarioRequest",
    "ScenarioResult",
    "Shift",
    "SupplierOptions",
    "parse_shares",
    "parse_shift",
    "run_scenario",
]
