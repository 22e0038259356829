"""Feature settings: windows, decay, severity threshold, tolerances and prior strength."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Feature settings that shape the indexes themselves; the others only shape queries.
BUILD_SETTINGS: Final = (
    "severe_delay_days",
    "on_time_tolerance_days",
    "in_full_tolerance",
    "delay_thresholds_days",
)


@dataclass(frozen=True)
class Tolerances:
    """The delivery tolerances shared by KPIs, labels and features (from the environment settings)."""

    on_time_days: int = 0
    in_full: float = 0.0


@dataclass(frozen=True)
class FeatureConfig:
    """What the point-in-time features look at; YAML training configs fill it."""

    windows_days: tuple[int, ...] = (30, 90, 180, 365)
    long_window_days: int = 365
    decay_half_lives_days: tuple[float, ...] = (21.0, 90.0)
    severe_delay_days: int = 14
    on_time_tolerance_days: int = 0
    in_full_tolerance: float = 0.0
    prior_strength_lines: float = 10.0
    load_window_days: int = 30
    delay_thresholds_days: tuple[int, ...] = (1, 3, 7, 14, 30, 60)
    # Supplier snapshots count open lines falling due within this many days after as-of.
    due_horizon_days: int = 90
    # The disruption event's test, read back as features: a recent window's late share against the normal.
    excursion_margin: float = 0.10
    excursion_confidence: float = 0.95

    def build_key(self) -> tuple[object, ...]:
        """The settings an index is built with (two configs with one key can share an index)."""
        return tuple(getattr(self, name) for name in BUILD_SETTINGS)

    def __post_init__(self) -> None:
        if not self.windows_days or min(self.windows_days) <= 0:
            raise ValueError("windows_days must be positive day counts")
        if self.long_window_days not in self.windows_days:
            raise ValueError("long_window_days must be one of windows_days (usually the longest)")
        if self.severe_delay_days <= self.on_time_tolerance_days:
            raise ValueError("severe_delay_days must exceed the on-time tolerance")
