"""The Monte Carlo: baseline and scenario drawn together from common random numbers.

Every random number belongs to something both arms share, never to an arm:

- normal shifts on the logit scale, sized on the backtest (``supplierrisk.modeling.dispersion``):
  one per supplier and due week, and one shared by every supplier per 91-day block of the
  horizon the lines are ordered in (the period's calibration drift);
- a uniform per template line, which decides whether it is late wherever it is placed,
  and another for its delay quantile;
- per supplier, whether it is disrupted in the horizon and when its episode starts.

So a line placed with the same supplier in both arms has the same fate in both, the
identity allocation reproduces the baseline draw for draw, and the difference between
the arms carries only the allocation's effect, not sampling noise. Each number is a hash of
the seed, the run and the stable key of what it belongs to (``keyed_uniforms``), so a
scenario's baseline is the same whatever suppliers the scenario adds.

A disrupted supplier's lines due in its episode are late, by at least the rest of the
episode. The episode lasts the disruption event's window or the supplier's time to
recover, whichever is longer. The other lines' late probability is lowered so that each
line's mean stays its calibrated ``p_late`` (the disruption adds clustering, not bias);
a line whose ``p_late`` is below its chance of falling in an episode keeps that chance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, ndtri

from supplierrisk.modeling.delay import interpolate_levels
from supplierrisk.modeling.dispersion import Dispersion, mean_preserving_logit

RUNS_PER_CHUNK = 200
ARMS = ("baseline", "scenario")


@dataclass(frozen=True)
class MonteCarloInputs:
    """Arrays per placement (a template line with a supplier), per supplier, and the arms' weights."""

    line: np.ndarray  # template line index per placement
    supplier: np.ndarray  # supplier code per placement
    week: np.ndarray  # supplier-week code per placement
    p_late: np.ndarray
    conditional_delay: np.ndarray  # placements x levels, days late given late
    levels: tuple[float, ...]
    value: np.ndarray  # the placed line's value
    due_offset_days: np.ndarray  # promised date minus the as-of
    weights: dict[str, np.ndarray]  # arm -> weight per placement
    p_disruption: np.ndarray  # per supplier code, over the horizon
    episode_days: np.ndarray  # per supplier code
    horizon_days: int
    dispersion: Dispersion
    # Stable keys of what the random numbers belong to (hashes of ids); default: the codes.
    line_keys: np.ndarray | None = None  # per template line
    supplier_keys: np.ndarray | None = None  # per supplier code
    week_keys: np.ndarray | None = None  # per supplier-week code
    period: np.ndarray | None = None  # per placement: the 91-day block of the horizon it is ordered in

    @property
    def lines(self) -> int:
        """Template lines."""
        return int(self.line.max()) + 1 if len(self.line) else 0

    def keys(self, name: str, count: int) -> np.ndarray:
        """The stable keys of ``name`` (lines, suppliers, weeks), or ``0..count-1``."""
        given = {"line": self.line_keys, "supplier": self.supplier_keys, "week": self.week_keys}[name]
        return np.asarray(given if given is not None else np.arange(count), dtype=np.uint64)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a bijective scramble of 64-bit integers."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def keyed_uniforms(keys: np.ndarray, runs: np.ndarray, seed: int, stream: int) -> np.ndarray:
    """Uniforms in (0, 1), one per run and key, that depend only on (seed, stream, key, run).

    So a line, a supplier or a supplier-week gets the same numbers whatever else a
    scenario holds: two scenarios of one category share their baseline exactly.
    """
    return keyed_uniforms_at(np.asarray(keys)[None, :], np.asarray(runs)[:, None], seed, stream)


def keyed_uniforms_at(keys: np.ndarray, runs: np.ndarray, seed: int, stream: int) -> np.ndarray:
    """``keyed_uniforms`` for (key, run) pairs given elementwise (the arrays broadcast)."""
    with np.errstate(over="ignore"):
        salt = _mix(np.array([seed], dtype=np.uint64) * _GOLDEN + np.uint64(stream))
        base = _mix(np.asarray(keys, dtype=np.uint64) ^ salt)
        mixed = _mix(base + (np.asarray(runs, dtype=np.uint64) + np.uint64(1)) * _GOLDEN)
    return ((mixed >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def key_hashes(values: np.ndarray) -> np.ndarray:
    """Stable 64-bit hashes of ids (pandas' fixed-key hash: the same in every process)."""
    return pd.util.hash_array(np.asarray(values, dtype=object).astype(str).astype(object))


def episode_chance(inputs: MonteCarloInputs) -> np.ndarray:
    """Per placement, the chance its due date falls in its supplier's disruption episode."""
    length = inputs.episode_days[inputs.supplier]
    due = inputs.due_offset_days
    # The episode starts uniformly in [0, horizon): the line is in it when start in (due - length, due].
    overlap = np.clip(np.minimum(due, inputs.horizon_days) - np.maximum(due - length, 0.0), 0.0, None)
    return inputs.p_disruption[inputs.supplier] * overlap / inputs.horizon_days


def expected_late(inputs: MonteCarloInputs) -> np.ndarray:
    """Each placement's chance of being late when simulated: its ``p_late``, or its episode chance."""
    return np.maximum(inputs.p_late, episode_chance(inputs))


@dataclass(frozen=True)
class Draws:
    """Per run and arm: late lines, late value and days late (summed over lines)."""

    late_lines: dict[str, np.ndarray]
    late_value: dict[str, np.ndarray]
    days_late: dict[str, np.ndarray]


def simulate(inputs: MonteCarloInputs, runs: int, seed: int) -> Draws:
    """``runs`` joint draws of both arms (reproducible for a seed; see the module docstring)."""
    chance = episode_chance(inputs)
    with np.errstate(invalid="ignore", divide="ignore"):
        calm = np.where(chance < 1, (inputs.p_late - chance) / (1 - chance), 0.0)
    sizes = inputs.dispersion
    base = mean_preserving_logit(np.clip(calm, 0.0, 1.0), sizes.total)
    n_weeks = int(inputs.week.max()) + 1 if len(inputs.week) else 0
    n_suppliers = len(inputs.p_disruption)
    line_keys = inputs.keys("line", inputs.lines)
    supplier_keys = inputs.keys("supplier", n_suppliers)
    week_keys = inputs.keys("week", n_weeks)
    period = inputs.period if inputs.period is not None else np.zeros(len(inputs.line), dtype=np.int64)
    period_keys = np.arange(int(period.max()) + 1 if len(period) else 0, dtype=np.uint64)
    arms = list(inputs.weights)
    weights = np.column_stack([inputs.weights[a] for a in arms]) if arms else np.zeros((len(inputs.line), 0))
    due = inputs.due_offset_days
    totals: dict[str, list[np.ndarray]] = {"n": [], "v": [], "d": []}
    done = 0
    while done < runs:
        chunk = min(RUNS_PER_CHUNK, runs - done)
        run = np.arange(done, done + chunk, dtype=np.uint64)
        shift = ndtri(keyed_uniforms(week_keys, run, seed, 1))[:, inputs.week] * sizes.supplier_week
        shift += ndtri(keyed_uniforms(period_keys, run, seed, 2))[:, period] * sizes.period
        fate = keyed_uniforms(line_keys, run, seed, 3)[:, inputs.line]
        disrupted = (keyed_uniforms(supplier_keys, run, seed, 5) < inputs.p_disruption)[:, inputs.supplier]
        start = (keyed_uniforms(supplier_keys, run, seed, 6) * inputs.horizon_days)[:, inputs.supplier]
        end = start + inputs.episode_days[inputs.supplier]
        in_episode = disrupted & (due >= start) & (due < end)
        late = in_episode | (fate < expit(base + shift))
        # Delays only where late: a minority of the draws, and the costliest step.
        runs_late, placed_late = np.nonzero(late)
        level = keyed_uniforms_at(line_keys[inputs.line[placed_late]], run[runs_late], seed, 4)
        delay = interpolate_levels(inputs.conditional_delay[placed_late], inputs.levels, level)
        episode_rest = end[runs_late, placed_late] - due[placed_late]
        delay = np.where(in_episode[runs_late, placed_late], np.maximum(delay, episode_rest), delay)
        days = np.zeros(late.shape)
        days[runs_late, placed_late] = delay
        late_f = late.astype(float)
        totals["n"].append(late_f @ weights)
        totals["v"].append((late_f * inputs.value) @ weights)
        totals["d"].append(days @ weights)
        done += chunk
    join = {k: np.concatenate(v) for k, v in totals.items()}
    by_arm = {k: {a: join[k][:, j] for j, a in enumerate(arms)} for k in join}
    return Draws(by_arm["n"], by_arm["v"], by_arm["d"])
