"""Synthetic procurement histories with known truth, for tests, benchmarks and model checks.

``generate_history`` writes canonical PO lines together with the true late
probability of every line and the true disruption episodes, so models can be
compared with the truth (the oracle) and not only with each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from supplierrisk.schema import conform
from supplierrisk.storage import write_parquet

# Country: late-logit offset.
COUNTRIES: Final = {
    "DE": -0.4,
    "US": -0.3,
    "JP": -0.5,
    "PL": -0.1,
    "MX": 0.1,
    "CN": 0.2,
    "TR": 0.2,
    "IN": 0.3,
    "VN": 0.35,
    "BR": 0.4,
}
# Category: (late-logit offset, median unit price, median log quantity).
CATEGORIES: Final = {
    "fasteners": (-0.2, 0.5, 7.0),
    "castings": (0.3, 40.0, 4.0),
    "electronics": (0.2, 12.0, 5.5),
    "packaging": (-0.3, 1.5, 6.5),
    "chemicals": (0.0, 8.0, 5.0),
    "machined_parts": (0.25, 65.0, 3.5),
    "textiles": (0.1, 4.0, 6.0),
    "mro": (-0.1, 25.0, 3.0),
}
# Ship mode: (mean promised lead days, sd, late-logit offset).
MODES: Final = {
    "Air": (10.0, 3.0, -0.1),
    "Ocean": (45.0, 10.0, 0.3),
    "Truck": (15.0, 5.0, 0.0),
    "Courier": (5.0, 2.0, -0.2),
}
INCOTERMS: Final = ("EXW", "FCA", "DAP", "DDP")
DESTINATIONS: Final = ("Hamburg", "Chicago", "Shanghai", "Pune", "Monterrey")
PRIORITIES: Final = ("normal", "urgent")
BASE_LATE_LOGIT: Final = -2.4
EPISODE_LATE_LOGIT: Final = 2.5
DRIFT_COUNTRY: Final = "CN"
_BIG: Final = np.int64(1 << 22)


@dataclass(frozen=True)
class SynthConfig:
    """Size and switches of a synthetic history."""

    suppliers: int = 200
    years: float = 3.0
    seed: int = 0
    start: str = "2022-01-01"
    lines_per_supplier_per_year: float = 60.0
    drift: bool = False
    drift_months: int = 3
    episodes_per_supplier_year: float = 0.3


@dataclass(frozen=True)
class SynthHistory:
    """A generated history and its truth."""

    history: pd.DataFrame
    truth: pd.DataFrame
    episodes: pd.DataFrame
    suppliers: pd.DataFrame
    export_date: pd.Timestamp


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _labels(codes: np.ndarray, names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Text labels for integer codes without one Python string object per row."""
    return np.asarray(pd.Categorical.from_codes(codes, categories=list(names)).astype(object))


def _order_days(rng: np.random.Generator, n: int, span: int) -> np.ndarray:
    """Order days with a yearly cycle and a push before quarter ends."""
    days = np.arange(span)
    dates = pd.Timestamp("2000-01-01") + pd.to_timedelta(days, unit="D")
    to_quarter_end = ((dates + pd.offsets.QuarterEnd(0)) - dates).days.to_numpy()
    weight = 1.0 + 0.25 * np.sin(2 * np.pi * days / 365.25) + 0.35 * (to_quarter_end < 14)
    weight[dates.dayofweek.to_numpy() >= 5] *= 0.2
    cdf = np.cumsum(weight) / weight.sum()
    return np.searchsorted(cdf, rng.random(n)).astype(np.int64)


def generate_history(config: SynthConfig) -> SynthHistory:
    """Generate a canonical history with known truth.

    The generating process:

    - **Suppliers** get a country (with its own risk), one to three of eight
      categories, a base reliability (late log-odds ~ N(-2.4, 0.6)), a size
      (log-normal line volume), a preferred ship-mode mix and a lead-time habit.
    - **Lines** are ordered over ``years`` with a yearly cycle, a push before quarter
      ends and quiet weekends. Lines of one supplier on one day share a PO. Each has a
      category of its supplier, a ship mode with its own promised lead time (Air ~10 d,
      Ocean ~45 d, Truck ~15 d, Courier ~5 d), an Incoterm, a destination, a quantity
      (log-normal by category) and a unit price; the invoice price equals it on 90% of
      lines and differs by a few percent otherwise.
    - **Late log-odds** add up: supplier base + country + category + mode; the
      supplier's **load** (0.6 × log of its orders in the last 30 days over its usual);
      a promise **tighter** than the mode's usual lead time; a large order; December
      and January promises (+0.4); urgent priority (+0.3); and **disruption episodes**
      (+2.5 for lines promised inside one): each supplier has Poisson(0.3 per year)
      episodes lasting 30–120 days, so late deliveries cluster in time.
    - ``p_late_true`` is the sigmoid of that; ``late_true`` ~ Bernoulli(p). A late line
      arrives 1 + Gamma(1.5, 4) days late (three times longer in an episode); an on-time
      line arrives on its promised day (60%) or up to 5 days early.
    - The **export date** is start + years: lines delivered after it are open
      (no delivery date, no received quantity); orders run up to it, so there are open
      lines both overdue and not yet due. 5% of delivered lines are partial (70–99%),
      3% have rejects.
    - The **drift switch** changes the last ``drift_months``: half the lines move to
      Ocean, quantities grow 1.5×, promised lead times shrink 20%, and the ``CN``
      country's risk jumps by +1.0 log-odds.
    - Extra columns: ``extra_priority`` (categorical) and ``extra_distance_km`` (numeric).
    """
    rng = np.random.default_rng(config.seed)
    start = pd.Timestamp(config.start)
    span = int(round(config.years * 365.25))
    export_date = start + pd.Timedelta(days=span)
    drift_start = span - int(round(config.drift_months * 30.44))

    n_sup = config.suppliers
    country_names = list(COUNTRIES)
    category_names = list(CATEGORIES)
    mode_names = list(MODES)
    sup_country = rng.integers(0, len(country_names), n_sup)
    sup_base = rng.normal(BASE_LATE_LOGIT, 0.6, n_sup)
    sup_size = rng.lognormal(0.0, 0.7, n_sup)
    sup_size /= sup_size.mean()
    sup_mode_pref = rng.dirichlet(np.ones(len(mode_names)) * 0.7, n_sup)
    sup_lead_factor = rng.lognormal(0.0, 0.15, n_sup)
    n_cats = rng.integers(1, 4, n_sup)
    sup_cats = np.stack([rng.permutation(len(category_names))[:3] for _ in range(n_sup)])
    sup_ids = [f"S{i + 1:05d}" for i in range(n_sup)]

    counts = rng.poisson(config.lines_per_supplier_per_year * config.years * sup_size)
    sup = np.repeat(np.arange(n_sup), counts)
    n = len(sup)
    order_day = _order_days(rng, n, span)
    order = np.lexsort((order_day, sup))
    sup, order_day = sup[order], order_day[order]
    drifted = config.drift & (order_day >= drift_start)

    category = sup_cats[sup, (rng.random(n) * n_cats[sup]).astype(np.int64)]
    cum_pref = np.cumsum(sup_mode_pref, axis=1)[sup]
    mode = (rng.random(n)[:, None] > cum_pref).sum(axis=1)
    mode = np.minimum(mode, len(mode_names) - 1)
    if config.drift:
        to_ocean = drifted & (rng.random(n) < 0.5)
        mode[to_ocean] = mode_names.index("Ocean")
    mode_mean = np.array([MODES[m][0] for m in mode_names])[mode]
    mode_sd = np.array([MODES[m][1] for m in mode_names])[mode]
    lead = np.maximum(1.0, np.round(rng.normal(mode_mean, mode_sd) * sup_lead_factor[sup]))
    if config.drift:
        lead[drifted] = np.maximum(1.0, np.round(lead[drifted] * 0.8))
    promised_day = order_day + lead.astype(np.int64)

    cat_offset = np.array([CATEGORIES[c][0] for c in category_names])[category]
    log_qty_mean = np.array([CATEGORIES[c][2] for c in category_names])[category]
    log_qty = rng.normal(log_qty_mean, 0.8)
    if config.drift:
        log_qty[drifted] += np.log(1.5)
    quantity = np.maximum(1.0, np.round(np.exp(log_qty)))
    unit_price = np.array([CATEGORIES[c][1] for c in category_names])[category] * rng.lognormal(0.0, 0.2, n)

    # Load: this supplier's orders in the 30 days before (incl. today) against its usual.
    key = sup.astype(np.int64) * _BIG + order_day
    recent = np.searchsorted(key, key, side="right") - np.searchsorted(key, key - 30, side="right")
    usual = config.lines_per_supplier_per_year * sup_size[sup] * 30 / 365.25
    load = np.log((recent + 1.0) / (usual + 1.0))

    country_offset = np.array([COUNTRIES[c] for c in country_names])[sup_country[sup]]
    if config.drift:
        country_offset = country_offset + np.where(
            drifted & (sup_country[sup] == country_names.index(DRIFT_COUNTRY)), 1.0, 0.0
        )
    mode_offset = np.array([MODES[m][2] for m in mode_names])[mode]
    tightness = np.clip((mode_mean * sup_lead_factor[sup] - lead) / mode_sd, -2, 3)
    promised_month = (start + pd.to_timedelta(promised_day, unit="D")).month.to_numpy()
    season = np.where(np.isin(promised_month, (12, 1)), 0.4, 0.0)
    priority = (rng.random(n) < 0.15).astype(np.int64)

    # Disruption episodes, then which lines are promised inside one.
    n_eps = rng.poisson(config.episodes_per_supplier_year * config.years, n_sup)
    ep_sup = np.repeat(np.arange(n_sup), n_eps)
    ep_start = rng.integers(-60, span, len(ep_sup)).astype(np.int64)
    ep_end = ep_start + rng.integers(30, 121, len(ep_sup))
    ep_order = np.lexsort((ep_start, ep_sup))
    ep_sup, ep_start, ep_end = ep_sup[ep_order], ep_start[ep_order], ep_end[ep_order]
    ep_key = ep_sup.astype(np.int64) * _BIG + (ep_start + 100)
    line_key = sup.astype(np.int64) * _BIG + (promised_day + 100)
    last = np.searchsorted(ep_key, line_key, side="right") - 1
    valid = last >= 0
    in_episode = np.zeros(n, dtype=bool)
    in_episode[valid] = (ep_sup[last[valid]] == sup[valid]) & (ep_end[last[valid]] > promised_day[valid])

    logit = (
        sup_base[sup]
        + country_offset
        + cat_offset
        + mode_offset
        + 0.6 * load
        + 0.35 * tightness
        + 0.2 * (log_qty - log_qty_mean)
        + season
        + 0.3 * priority
        + EPISODE_LATE_LOGIT * in_episode
    )
    p_late = _sigmoid(logit)
    late = rng.random(n) < p_late
    delay = np.ceil(1.0 + rng.gamma(1.5, 4.0, n) * np.where(in_episode, 3.0, 1.0)).astype(np.int64)
    early = np.where(rng.random(n) < 0.6, 0, rng.integers(1, 6, n))
    delivered_day = np.where(late, promised_day + delay, np.maximum(order_day, promised_day - early))
    delay_true = np.where(late, delay, 0)
    is_open = delivered_day > span

    partial = rng.random(n) < 0.05
    received = np.where(partial, np.floor(quantity * rng.uniform(0.7, 0.99, n)), quantity)
    rejected = np.where(rng.random(n) < 0.03, np.floor(received * rng.uniform(0.01, 0.1, n)), 0.0)
    invoice = np.where(rng.random(n) < 0.9, unit_price, unit_price * (1 + rng.normal(0, 0.03, n)))
    destination = rng.integers(0, len(DESTINATIONS), n)
    distance = rng.uniform(200, 1500, len(DESTINATIONS) * len(country_names)).reshape(len(DESTINATIONS), -1)
    distance_km = np.round(distance[destination, sup_country[sup]])

    new_po = np.ones(n, dtype=bool)
    new_po[1:] = (sup[1:] != sup[:-1]) | (order_day[1:] != order_day[:-1]) | (rng.random(n - 1) < 0.3)
    po_number = np.cumsum(new_po)
    po_start = np.flatnonzero(new_po)
    line_number = np.arange(n) - np.repeat(po_start, np.diff(np.append(po_start, n))) + 1

    days = pd.to_timedelta
    po_id = ("PO" + pd.Series(po_number).astype(str).str.zfill(8)).to_numpy(dtype=object)
    line_id = pd.Series(line_number).astype(str).to_numpy(dtype=object)
    sup_id_col = _labels(sup, sup_ids)
    delivered = (start + days(delivered_day, unit="D")).to_numpy()
    delivered[is_open] = np.datetime64("NaT")
    frame = pd.DataFrame(
        {
            "po_id": po_id,
            "line_id": line_id,
            "supplier_id": sup_id_col,
            "supplier_name": sup_id_col,
            "supplier_country": _labels(sup_country[sup], country_names),
            "category": _labels(category, category_names),
            "item_id": _labels(
                category * 10 + rng.integers(0, 10, n),
                [f"{c}-{i}" for c in category_names for i in range(10)],
            ),
            "order_date": (start + days(order_day, unit="D")).to_numpy(),
            "promised_date": (start + days(promised_day, unit="D")).to_numpy(),
            "delivered_date": delivered,
            "quantity_ordered": quantity,
            "quantity_received": np.where(is_open, np.nan, received),
            "quantity_rejected": np.where(is_open, np.nan, rejected),
            "unit_price": np.round(unit_price, 4),
            "invoice_unit_price": np.where(is_open, np.nan, np.round(invoice, 4)),
            "currency": _labels(np.zeros(n, dtype=np.int64), ["USD"]),
            "ship_mode": _labels(mode, mode_names),
            "incoterm": _labels(rng.integers(0, len(INCOTERMS), n), list(INCOTERMS)),
            "destination": _labels(destination, list(DESTINATIONS)),
            "extra_priority": _labels(priority, list(PRIORITIES)),
            "extra_distance_km": distance_km,
        }
    )
    history = conform(frame)
    truth = pd.DataFrame(
        {
            "po_id": po_id,
            "line_id": line_id,
            "supplier_id": sup_id_col,
            "p_late_true": p_late,
            "late_true": late,
            "delay_days_true": delay_true,
            "in_disruption": in_episode,
        }
    )
    episodes = pd.DataFrame(
        {
            "supplier_id": _labels(ep_sup, sup_ids),
            "start_date": (start + days(ep_start, unit="D")).to_numpy(),
            "end_date": (start + days(ep_end, unit="D")).to_numpy(),
        }
    )
    suppliers = pd.DataFrame(
        {
            "supplier_id": sup_ids,
            "supplier_country": _labels(sup_country, country_names),
            "base_late_logit": sup_base,
            "size": sup_size,
            "categories": [
                ",".join(category_names[c] for c in sup_cats[i, : n_cats[i]]) for i in range(n_sup)
            ],
        }
    )
    return SynthHistory(history, truth, episodes, suppliers, export_date)


def write_synth(result: SynthHistory, out_dir: Path) -> dict[str, Path]:
    """Write history, truth, episodes and suppliers as Parquet files (atomically) in ``out_dir``."""
    paths = {
        "history": out_dir / "history.parquet",
        "truth": out_dir / "truth.parquet",
        "episodes": out_dir / "episodes.parquet",
        "suppliers": out_dir / "suppliers.parquet",
    }
    write_parquet(result.history, paths["history"])
    write_parquet(result.truth, paths["truth"])
    write_parquet(result.episodes, paths["episodes"])
    write_parquet(result.suppliers, paths["suppliers"])
    return paths
