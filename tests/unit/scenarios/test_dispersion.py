"""Over-dispersion, fitted on data whose shifts are known, and kept mean-preserving."""

from __future__ import annotations

import numpy as np

from supplierrisk.modeling.dispersion import (
    fit_dispersion,
    mean_preserving_logit,
    shifted_mean,
)


def _clustered(
    rng: np.random.Generator, period_sigma: float, week_sigma: float, periods: int = 40
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    p, late, period, group = [], [], [], []
    total = float(np.hypot(period_sigma, week_sigma))
    for t in range(periods):
        shift_t = rng.standard_normal() * period_sigma
        for g in range(25):
            shift_g = rng.standard_normal() * week_sigma
            probs = rng.uniform(0.05, 0.4, 8)
            b = mean_preserving_logit(probs, total)
            late.append(rng.random(8) < 1 / (1 + np.exp(-(b + shift_t + shift_g))))
            p.append(probs)
            period += [t] * 8
            group += [f"{t}-{g}"] * 8
    return np.concatenate(p), np.concatenate(late), np.array(period), np.array(group)


def test_the_base_logit_keeps_each_mean_at_its_probability_tails_included() -> None:
    p = np.array([1e-6, 1e-4, 0.001, 0.05, 0.3, 0.5, 0.9, 0.999, 1 - 1e-5])
    for sigma in (0.0, 0.8, 2.5, 3.0):
        mean = shifted_mean(mean_preserving_logit(p, sigma), sigma)
        assert np.allclose(mean, p, rtol=1e-6, atol=0)
        assert np.allclose(1 - mean, 1 - p, rtol=1e-6, atol=0)


def test_known_shifts_are_recovered() -> None:
    p, late, period, group = _clustered(np.random.default_rng(4), period_sigma=0.6, week_sigma=1.0)
    fitted = fit_dispersion(p, late, period, group)
    assert abs(fitted.supplier_week - 1.0) < 0.3
    assert abs(fitted.period - 0.6) < 0.3


def test_independent_lines_fit_small_shifts() -> None:
    p, late, period, group = _clustered(np.random.default_rng(5), period_sigma=0.0, week_sigma=0.0)
    fitted = fit_dispersion(p, late, period, group)
    assert fitted.supplier_week < 0.3
    assert fitted.period < 0.3
