"""Drift thresholds with a stated false-alarm rate: a supplier-clustered bootstrap of the reference.

A batch's rows are not independent draws: the lines of one supplier share its history,
its lanes and its habits, so the effective sample is nearer the number of suppliers
than the number of lines. A fixed distance threshold therefore has no known
false-alarm rate. Here each feature's threshold is calibrated instead:

1. **Null draws.** ``draws`` pairs are resampled from the reference itself, by supplier
   (a supplier's rows come as one cluster): a reference-sized draw and a pseudo-batch
   with as many suppliers as the batch has. Each pair is compared with the distance
   Evidently uses (normed Wasserstein for numbers, Jensen-Shannon for categories),
   giving the distance's distribution when nothing changed.
2. **P-values.** The batch's distance is placed in that distribution through a
   log-normal fitted to the null distances (Student's t on the log scale, for the fit's own
   uncertainty; the tail beyond the largest draw is extrapolated, not clipped at ``1 / draws``).
3. **The family.** Benjamini-Hochberg over a model's features at ``false_alarm_rate``:
   under no drift at all, a batch flags any feature with probability at most that rate.
4. **Evidently.** Each feature's threshold handed to Evidently is the null quantile at
   the Benjamini-Hochberg cut-off, so its per-column verdict is this test's verdict.

The effective sample size of a feature is the batch's rows divided by the design
effect of its mean under the clustered resampling (at least the supplier count).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

NUMERICAL_METHOD = "wasserstein"
CATEGORICAL_METHOD = "jensenshannon"
_NORM_FLOOR = 0.001  # Evidently's floor on the reference's standard deviation
_LOG_FLOOR = 1e-9


def numerical_distance(
    reference: np.ndarray, current: np.ndarray, reference_std: float | None = None
) -> float:
    """Wasserstein distance normed by the reference's standard deviation (Evidently's ``wasserstein``)."""
    norm = max(float(np.std(reference)) if reference_std is None else reference_std, _NORM_FLOOR)
    return float(stats.wasserstein_distance(reference, current) / norm)


def categorical_distance(reference: pd.Series, current: pd.Series) -> float:
    """Jensen-Shannon distance of the category shares (Evidently's ``jensenshannon``, natural log)."""
    keys = sorted(set(reference.unique()) | set(current.unique()), key=str)
    ref = reference.value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float) / len(reference)
    cur = current.value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float) / len(current)
    return float(distance.jensenshannon(ref, cur))


@dataclass(frozen=True)
class NullDistances:
    """One feature's distances under no drift, and its design effect."""

    distances: np.ndarray
    design_effect: float

    def _fit(self) -> tuple[float, float, int]:
        # The predictive distribution of one more log distance: Student's t with the draws' mean
        # and spread, widened for having been estimated from them.
        logs = np.log(np.maximum(self.distances, _LOG_FLOOR))
        spread = float(np.std(logs, ddof=1)) if len(logs) > 1 else 0.0
        return float(logs.mean()), spread * float(np.sqrt(1.0 + 1.0 / len(logs))), max(len(logs) - 1, 1)

    def p_value(self, observed: float) -> float:
        """Upper tail of ``observed`` under the log-normal fitted to the null distances."""
        centre, scale, df = self._fit()
        if scale == 0.0:
            return 1.0 if observed <= float(np.exp(centre)) else 0.0
        return float(stats.t.sf((np.log(max(observed, _LOG_FLOOR)) - centre) / scale, df))

    def quantile(self, level: float) -> float:
        """The distance exceeded with probability ``level`` under the same fit."""
        centre, scale, df = self._fit()
        return float(np.exp(centre + scale * stats.t.isf(level, df)))


def _wasserstein_sorted(u: np.ndarray, v: np.ndarray) -> float:
    """First Wasserstein distance of two sorted samples (scipy's formula without its checks)."""
    both = np.concatenate([u, v])
    both.sort(kind="mergesort")
    deltas = np.diff(both)
    cu = np.searchsorted(u, both[:-1], side="right") / len(u)
    cv = np.searchsorted(v, both[:-1], side="right") / len(v)
    return float(np.sum(np.abs(cu - cv) * deltas))


def _js_counts(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance of two count vectors (scipy's ``jensenshannon``, natural log)."""
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        right = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    return float(np.sqrt(max((left + right) / 2.0, 0.0)))


def _resample(starts: np.ndarray, lengths: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Row positions of the picked clusters (rows of a cluster are contiguous)."""
    sizes = lengths[picks]
    offsets = np.repeat(starts[picks] - np.r_[0, np.cumsum(sizes)[:-1]], sizes)
    return offsets + np.arange(sizes.sum())


def _cluster_batches(
    reference_batches: pd.Series | None, valid: np.ndarray, codes: np.ndarray, n_clusters: int
) -> np.ndarray | None:
    """The reference batch of each cluster, or None when the reference is one population."""
    if reference_batches is None:
        return None
    batch_codes, uniques = pd.factorize(reference_batches[valid].astype(str), sort=True)
    if len(uniques) < 2:
        return None
    out = np.empty(n_clusters, dtype=np.int64)
    out[codes] = batch_codes
    return out


def _pools(
    cluster_batch: np.ndarray | None, n_clusters: int, rng: np.random.Generator, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """Clusters for the reference side and for the pseudo-batch of one draw."""
    if cluster_batch is None:
        every = np.arange(n_clusters)
        return every, every
    held_out = rng.integers(1, int(cluster_batch.max()) + 1)
    before = (cluster_batch < held_out) & (cluster_batch >= held_out - window)
    return np.flatnonzero(before), np.flatnonzero(cluster_batch == held_out)


def null_distances(
    reference: pd.Series,
    reference_suppliers: pd.Series,
    batch_suppliers: int,
    categorical: bool,
    draws: int,
    seed: int,
    reference_batches: pd.Series | None = None,
    window: int = 8,
) -> NullDistances:
    """Distances of supplier-clustered pseudo-batches against reference-sized draws of the reference.

    With ``reference_batches`` (the reference is several earlier batches, ids in time order), each
    pseudo-batch is drawn from one of those batches and compared with the ``window`` batches
    before it, as the real batch is compared with its predecessors: the null then holds the
    week-to-week movement of the process over the whole history given, as well as the
    sampling noise.
    """
    valid = reference.notna().to_numpy()
    keys = reference_suppliers[valid].astype(str)
    if reference_batches is not None:
        keys = reference_batches[valid].astype(str) + "\x1f" + keys
    codes, _ = pd.factorize(keys)
    order = np.argsort(codes, kind="stable")
    lengths = np.bincount(codes)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    n_clusters = len(lengths)
    values = reference[valid].to_numpy()[order]
    if categorical:
        numbers, _levels = pd.factorize(values)
        levels = int(numbers.max()) + 1
        indicator = (numbers == np.bincount(numbers).argmax()).astype(float)
        std = 1.0
    else:
        numbers = values.astype(float)
        indicator = numbers
        std = max(float(np.std(numbers)), _NORM_FLOOR)
    rng = np.random.default_rng(seed)
    size = max(1, min(batch_suppliers, n_clusters))
    cluster_batch = _cluster_batches(reference_batches, valid, codes, n_clusters)
    out, means = np.empty(draws), np.empty(draws)
    for k in range(draws):
        # Both sides resampled: the real reference is a sample too, and its noise is in every comparison.
        base_pool, batch_pool = _pools(cluster_batch, n_clusters, rng, window)
        base = _resample(starts, lengths, rng.choice(base_pool, len(base_pool)))
        picks = size if cluster_batch is None else len(batch_pool)
        rows = _resample(starts, lengths, rng.choice(batch_pool, picks))
        if categorical:
            out[k] = _js_counts(
                np.bincount(numbers[base], minlength=levels).astype(float),
                np.bincount(numbers[rows], minlength=levels).astype(float),
            )
        else:
            out[k] = _wasserstein_sorted(np.sort(numbers[base]), np.sort(numbers[rows])) / std
        means[k] = float(np.mean(indicator[rows]))
    rows_per_draw = len(values) / n_clusters * size
    iid_variance = float(np.var(indicator)) / max(rows_per_draw, 1.0)
    design_effect = float(np.var(means) / iid_variance) if iid_variance > 0 else 1.0
    return NullDistances(out, max(design_effect, 1.0))


def benjamini_hochberg(p_values: np.ndarray, rate: float) -> tuple[np.ndarray, float]:
    """Rejections at false-discovery rate ``rate`` and the per-test cut-off they imply."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return np.zeros(0, dtype=bool), rate
    order = np.argsort(p, kind="stable")
    passed = np.flatnonzero(p[order] <= rate * np.arange(1, m + 1) / m)
    count = int(passed[-1]) + 1 if len(passed) else 0
    cutoff = rate * max(count, 1) / m
    return p <= (cutoff if count else -1.0), cutoff


def effective_sample(rows: int, suppliers: int, design_effect: float, supplier_level: bool) -> int:
    """Rows of independent information: suppliers at supplier level, rows over the design effect otherwise."""
    if supplier_level:
        return int(suppliers)
    return int(np.clip(round(rows / design_effect), min(suppliers, rows), rows))
