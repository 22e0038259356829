"""Over-dispersion of late lines: shared logit shifts, fitted on the backtest's out-of-time predictions.

Late lines cluster, so their counts vary more than independent Bernoulli draws of the
calibrated probabilities allow, at two scales:

- lines of one supplier due in the same week share their fate (one ship, one plant, one strike);
- the model's calibration drifts from period to period for every supplier at once (a port,
  a funding cycle, a change in how promises are made).

The model is::

    late_i ~ Bernoulli(sigmoid(b_i + period_sigma * m_t + supplier_week_sigma * z_g))

with ``m_t`` per period (a due month in the backtest), ``z_g`` per supplier and due week, both
standard normal, and ``b_i`` chosen so that the mean over both is still the calibrated
``p_i`` (the shifts add spread, never bias). Both sizes are fitted by maximum marginal
likelihood, with nested Gauss-Hermite quadrature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, logit, logsumexp

# Probabilists' Gauss-Hermite nodes and weights: E[f(z)] ~ sum(w * f(x)) for z ~ N(0, 1).
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(16)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()
MAX_SIGMA = 3.0
# Lines used to fit the shifts (sampled beyond this): the likelihood costs lines x nodes squared.
MAX_FIT_LINES = 20_000
_EPS = 1e-6


def shifted_mean(base_logit: np.ndarray, sigma: float) -> np.ndarray:
    """``E[sigmoid(b + sigma z)]`` over ``z ~ N(0, 1)``, per element of ``base_logit``."""
    b = np.asarray(base_logit, dtype=float)[..., None]
    return (expit(b + sigma * _NODES) * _WEIGHTS).sum(axis=-1)


def mean_preserving_logit(p: np.ndarray, sigma: float) -> np.ndarray:
    """The base logit ``b`` with ``E[sigmoid(b + sigma z)] = p``, solved on the logit scale.

    Newton steps on ``logit(E) - logit(p)`` (whose slope lies in (0, 1]), each at most 2
    logits long, converge from the probit approximation for any ``p`` and ``sigma``, tails
    included. ``p`` is clipped to [1e-6, 1 - 1e-6]: such lines are all but never or always late.
    """
    target = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    b = logit(target) * np.sqrt(1.0 + np.pi * sigma**2 / 8.0)
    if sigma == 0:
        return b
    goal = logit(target)
    for _ in range(60):
        s = expit(b[..., None] + sigma * _NODES)
        mean = np.clip((s * _WEIGHTS).sum(axis=-1), 1e-300, 1 - 1e-16)
        gap = logit(mean) - goal
        if np.all(np.abs(gap) < 1e-9):
            break
        slope = (s * (1 - s) * _WEIGHTS).sum(axis=-1) / (mean * (1 - mean))
        b = b - np.clip(gap / np.maximum(slope, 1e-12), -2.0, 2.0)
    return b


@dataclass(frozen=True)
class Dispersion:
    """Shared logit shifts: one per supplier-week, and one per period across all suppliers."""

    supplier_week: float
    period: float

    @property
    def total(self) -> float:
        """The standard deviation of a line's whole shift (both terms)."""
        return float(np.hypot(self.supplier_week, self.period))


def _nested_log_likelihood(
    sigmas: np.ndarray, p: np.ndarray, late: np.ndarray, group_starts: np.ndarray, period_of_group: np.ndarray
) -> float:
    period_sigma, week_sigma = float(sigmas[0]), float(sigmas[1])
    b = mean_preserving_logit(p, float(np.hypot(period_sigma, week_sigma)))
    shift = period_sigma * _NODES[:, None] + week_sigma * _NODES[None, :]
    q = np.clip(expit(b[:, None, None] + shift[None, :, :]), 1e-12, 1 - 1e-12)
    per_line = np.where(late[:, None, None], np.log(q), np.log1p(-q))
    per_group = np.add.reduceat(per_line, group_starts, axis=0)
    # Integrate each supplier-week over its own shift, then each period over the shared one.
    per_group = logsumexp(per_group + np.log(_WEIGHTS)[None, None, :], axis=2)
    period_starts = np.flatnonzero(np.r_[True, period_of_group[1:] != period_of_group[:-1]])
    per_period = np.add.reduceat(per_group, period_starts, axis=0)
    return float(logsumexp(per_period + np.log(_WEIGHTS)[None, :], axis=1).sum())


def fit_dispersion(
    p: np.ndarray, late: np.ndarray, period: np.ndarray, group: np.ndarray, max_lines: int = MAX_FIT_LINES
) -> Dispersion:
    """Both shifts' sizes by maximum marginal likelihood; supplier-week ``group`` nests in ``period``.

    Lines beyond ``max_lines`` are sampled (seeded): the model holds for any subset of lines.
    """
    p = np.asarray(p, dtype=float)
    late = np.asarray(late, dtype=bool)
    if len(p) > max_lines:
        keep = np.sort(np.random.default_rng(0).choice(len(p), max_lines, replace=False))
        p, late, period, group = p[keep], late[keep], np.asarray(period)[keep], np.asarray(group)[keep]
    period_codes = pd.factorize(pd.Series(period), sort=True)[0]
    group_codes = pd.factorize(pd.Series(group), sort=True)[0]
    order = np.lexsort((group_codes, period_codes))
    p, late, period_codes, group_codes = p[order], late[order], period_codes[order], group_codes[order]
    if len(p) == 0:
        return Dispersion(0.0, 0.0)
    group_starts = np.flatnonzero(np.r_[True, group_codes[1:] != group_codes[:-1]])
    period_of_group = period_codes[group_starts]
    result = minimize(
        lambda s: -_nested_log_likelihood(s, p, late, group_starts, period_of_group),
        x0=np.array([0.3, 0.5]),
        bounds=[(0.0, MAX_SIGMA), (0.0, MAX_SIGMA)],
        method="L-BFGS-B",
    )
    return Dispersion(supplier_week=float(result.x[1]), period=float(result.x[0]))


def backtest_dispersion(
    predictions: pd.DataFrame, probabilities: np.ndarray, aux: pd.DataFrame
) -> Dispersion:
    """Both shifts from a backtest's out-of-time predictions: supplier x due week, within fold x due month.

    ``predictions`` holds ``fold``, ``row`` (the example's index) and ``label``;
    ``aux`` the examples' ``supplier_id`` and ``promised_date``.
    """
    context = aux.loc[predictions["row"].to_numpy()]
    weeks = context["promised_date"].dt.to_period("W")
    fold = predictions["fold"].astype(str).to_numpy()
    # A week belongs to the month it starts in, so each supplier-week lies in one period.
    month = weeks.dt.start_time.dt.to_period("M").astype(str).to_numpy()
    period = fold + "|" + month
    group = period + "|" + context["supplier_id"].astype(str).to_numpy() + "|" + weeks.astype(str).to_numpy()
    return fit_dispersion(probabilities, predictions["label"].to_numpy().astype(bool), period, group)
