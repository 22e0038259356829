"""Synthetic procurement history with known ground truth.

Generates a canonical PO-line history (see :mod:`supplierrisk.schema`) from a documented
stochastic process, together with the truth behind it: each line's true late probability,
its realised outcome (even when the line is still open at export) and the suppliers'
disruption episodes. Everything is vectorised over lines: ten million lines take well
under a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from supplierrisk.schema import CANONICAL_FIELDS
from supplierrisk.storage import write_parquet

__all__ = ["SynthConfig", "SynthHistory", "disruption_truth", "generate_history", "write_synth"]

Array = npt.NDArray[Any]

DAY_NS: Final = 86_400 * 10**9
# Days simulated after the export date: promised and delivered dates of late orders fall there.
TAIL_DAYS: Final = 450

# Countries: (name, late-logit offset, sampling weight, continent, latitude, longitude).
COUNTRIES: Final = (
    ("China", 0.25, 0.22, "Asia", 22.5, 114.1),
    ("Vietnam", 0.30, 0.08, "Asia", 10.8, 106.7),
    ("India", 0.45, 0.12, "Asia", 13.1, 80.3),
    ("Mexico", 0.15, 0.10, "Americas", 25.7, -100.3),
    ("United States", -0.30, 0.15, "Americas", 41.9, -87.6),
    ("Germany", -0.40, 0.10, "Europe", 48.8, 9.2),
    ("Poland", 0.00, 0.06, "Europe", 51.1, 17.0),
    ("Turkey", 0.20, 0.05, "Europe", 41.0, 29.0),
    ("Brazil", 0.35, 0.05, "Americas", -23.5, -46.6),
    ("Japan", -0.45, 0.07, "Asia", 35.2, 136.9),
)
LEGAL_FORMS: Final = {
    "China": "Co., Ltd.",
    "Vietnam": "JSC",
    "India": "Pvt. Ltd.",
    "Mexico": "S.A. de C.V.",
    "United States": "Inc.",
    "Germany": "GmbH",
    "Poland": "Sp. z o.o.",
    "Turkey": "A.S.",
    "Brazil": "Ltda.",
    "Japan": "K.K.",
}
# No trucks from these countries: islands or no practical land route to the hub.
NO_OVERLAND: Final = frozenset({"Japan", "India"})
OVERLAND_MAX_KM: Final = 4000.0
# Destinations: (name, sampling weight, continent, latitude, longitude).
DESTINATIONS: Final = (
    ("US-East", 0.35, "Americas", 33.7, -84.4),
    ("US-West", 0.20, "Americas", 34.0, -118.2),
    ("EU-Central", 0.30, "Europe", 50.1, 8.7),
    ("APAC-Hub", 0.15, "Asia", 1.35, 103.8),
)
# Categories: (code, name, median unit price, price log-sd, median quantity, late-logit offset).
CATEGORIES: Final = (
    ("ELC", "Electronics", 42.0, 1.0, 200.0, 0.25),
    ("MEC", "Mechanical parts", 11.0, 0.9, 500.0, 0.05),
    ("RAW", "Raw materials", 2.5, 0.7, 3000.0, -0.10),
    ("CHM", "Chemicals", 18.0, 0.8, 400.0, 0.15),
    ("PKG", "Packaging", 0.6, 0.8, 8000.0, -0.25),
    ("TXT", "Textiles", 5.5, 0.7, 1500.0, 0.00),
    ("MRO", "MRO supplies", 14.0, 1.0, 60.0, -0.15),
    ("PHA", "Pharmaceuticals", 75.0, 1.1, 120.0, 0.30),
)
# Ship modes: median transit days, transit log-sd, late-logit offset, delay gamma scale (days).
SHIP_MODES: Final = ("Air", "Ocean", "Truck", "Courier")
OCEAN: Final = 1
TRANSIT_MEDIAN: Final = np.array([4.0, 36.0, 8.0, 3.0], dtype=np.float32)
TRANSIT_SIGMA: Final = np.array([0.30, 0.20, 0.30, 0.30], dtype=np.float32)
MODE_LOGIT: Final = np.array([-0.20, 0.35, 0.00, -0.40], dtype=np.float32)
DELAY_SCALE: Final = np.array([2.0, 6.0, 2.5, 1.5], dtype=np.float32)
# Ship-mode mix by route (overseas or overland) and priority (normal, urgent).
MODE_MIX: Final = {
    (False, False): (0.06, 0.02, 0.80, 0.12),
    (False, True): (0.15, 0.00, 0.60, 0.25),
    (True, False): (0.22, 0.60, 0.00, 0.18),
    (True, True): (0.55, 0.20, 0.00, 0.25),
}
INCOTERMS: Final = ("EXW", "FCA", "FOB", "CIF", "DAP", "DDP")
PRIORITIES: Final = ("normal", "urgent")

NAME_PREFIXES: Final = (
    "Apex", "Atlas", "Blue", "Bright", "Cedar", "Delta", "Eagle", "Everest", "Falcon", "Global",
    "Golden", "Granite", "Harbor", "Horizon", "Iron", "Keystone", "Lotus", "Meridian", "Nova",
    "Orion", "Pacific", "Pioneer", "Summit", "Vertex",
)  # fmt: skip
NAME_CORES: Final = (
    "Components", "Industries", "Manufacturing", "Supply", "Trading", "Materials", "Works",
    "Precision", "Solutions", "Logistics", "Products", "Systems", "Technologies", "Fabrication",
    "Metals", "Polymers", "Electronics", "Packaging", "Textiles", "Chemicals",
)  # fmt: skip

# Process parameters (documented in ``generate_history``).
SIZE_SIGMA: Final = 0.8
LINES_PER_PO_EXTRA: Final = 1.2  # lines per PO = 1 + Poisson(1.2), capped at 8
MAX_LINES_PER_PO: Final = 8
SURGE_SHAPE: Final = 4.0  # supplier-month demand factor ~ Gamma(4, 1/4): mean 1, CV 0.5
URGENT_SHARE: Final = 0.12
BASE_LOGIT_MEAN: Final = -2.9
BASE_LOGIT_SD: Final = 0.6
TREND_SD: Final = 0.2
URGENT_LOGIT: Final = 0.30
TIGHTNESS_LOGIT: Final = -0.8
DISTANCE_LOGIT_PER_10000KM: Final = 0.15
LOAD_LOGIT: Final = 0.8
DISRUPTION_LOGIT: Final = 2.5
EPISODES_PER_YEAR: Final = 0.3
DRIFT_COUNTRY: Final = "Vietnam"
DRIFT_COUNTRY_LOGIT: Final = 1.2
DRIFT_QUANTITY: Final = 1.5
DRIFT_LEAD: Final = 0.75
DRIFT_OCEAN_MIX: Final = 0.5
# Late-logit bump by calendar month of the promised date (December holidays, year-end).
LATE_MONTH_LOGIT: Final = (0.15, 0.05, 0.0, 0.0, 0.0, 0.0, 0.05, 0.10, 0.0, 0.0, 0.15, 0.45)
LUNAR_NEW_YEAR_LOGIT: Final = 0.5  # February bump for China and Vietnam
# Order intensity by calendar month (summer and holiday dips).
ORDER_MONTH_FACTOR: Final = (0.95, 1.0, 1.1, 1.0, 1.0, 1.05, 0.9, 0.85, 1.05, 1.1, 1.05, 0.8)


@dataclass(frozen=True)
class SynthConfig:
    """Size, seed and switches of a synthetic history."""

    suppliers: int = 200
    years: float = 3.0
    seed: int = 0
    start: str = "2022-01-01"
    lines_per_supplier_per_year: float = 60.0
    drift: bool = False
    drift_months: int = 3
    episodes_per_supplier_year: float = EPISODES_PER_YEAR
    # Knobs for histories that break assumptions: delays capped (a retail export where nothing is
    # more than a few days late) and suppliers whose every line is late.
    max_delay_days: int | None = None
    always_late_suppliers: int = 0
    # A country shock at a known date: the late odds of lines promised from ``shock_from`` by
    # suppliers in ``shock_country`` are multiplied by ``shock_odds`` (a port strike, a border closure).
    shock_country: str | None = None
    shock_from: str | None = None
    shock_odds: float = 3.0
    # Log-sd of supplier sizes: 0.8 spreads them about 14-fold (5th to 95th percentile), 1.4 about 100-fold.
    size_sigma: float = SIZE_SIGMA

    def __post_init__(self) -> None:
        """Reject sizes and dates that cannot produce a history."""
        if self.suppliers < 1:
            raise ValueError("suppliers must be >= 1")
        if not self.years > 0:
            raise ValueError("years must be > 0")
        if not self.lines_per_supplier_per_year > 0:
            raise ValueError("lines_per_supplier_per_year must be > 0")
        if self.drift_months < 1:
            raise ValueError("drift_months must be >= 1")
        if self.episodes_per_supplier_year < 0:
            raise ValueError("episodes_per_supplier_year must be >= 0")
        if self.size_sigma < 0:
            raise ValueError("size_sigma must be >= 0")
        if self.max_delay_days is not None and self.max_delay_days < 1:
            raise ValueError("max_delay_days must be >= 1")
        if not 0 <= self.always_late_suppliers <= self.suppliers:
            raise ValueError("always_late_suppliers must be between 0 and the number of suppliers")
        pd.Timestamp(self.start)  # raises on an unparsable start date
        self._check_shock()

    def _check_shock(self) -> None:
        if (self.shock_country is None) != (self.shock_from is None):
            raise ValueError("shock_country and shock_from go together")
        if self.shock_country is not None:
            if self.shock_country not in [c[0] for c in COUNTRIES]:
                raise ValueError(f"shock_country must be one of {', '.join(c[0] for c in COUNTRIES)}")
            pd.Timestamp(self.shock_from)  # raises on an unparsable date
            if not self.shock_odds > 0:
                raise ValueError("shock_odds must be > 0")

    @property
    def start_date(self) -> pd.Timestamp:
        """First possible order date."""
        return pd.Timestamp(self.start).normalize()

    @property
    def n_days(self) -> int:
        """Days with orders: ``round(years x 365.25)``, at least one."""
        return max(1, round(self.years * 365.25))

    @property
    def export_date(self) -> pd.Timestamp:
        """Date of the snapshot (end of day): ``start + n_days``; orders fall before it."""
        return self.start_date + pd.Timedelta(days=self.n_days)

    @property
    def drift_start(self) -> pd.Timestamp:
        """First order date of the drift window (``drift_months`` before export)."""
        return max(self.start_date, self.export_date - pd.DateOffset(months=self.drift_months))


@dataclass(frozen=True)
class SynthHistory:
    """A synthetic history and the truth that generated it (truth rows align with history rows)."""

    history: pd.DataFrame
    truth: pd.DataFrame
    episodes: pd.DataFrame
    suppliers: pd.DataFrame
    export_date: pd.Timestamp


@dataclass(frozen=True)
class _Suppliers:
    country: Array  # int, index into COUNTRIES
    categories: Array  # (n, 3) int, first n_categories valid
    n_categories: Array
    base_logit: Array
    trend: Array
    size: Array  # expected lines per year
    capacity: Array
    prep_days: Array
    disruption_factor: Array
    incoterm: Array
    frame: pd.DataFrame


@dataclass(frozen=True)
class _Calendar:
    n_days: int
    n_ext: int
    month: Array  # calendar month 1..12 of each extended day
    period_first: Array  # first day of each calendar month (period) with orders
    period_weight: Array  # summed order intensity of each period
    cum_weight: Array  # inclusive cumulative order intensity over order days
    mean_weight: float


def generate_history(config: SynthConfig) -> SynthHistory:
    """Generate a synthetic PO-line history, with its truth, from ``config``.

    Generating process (all randomness from ``numpy.random.SeedSequence(seed)``, one
    independent stream per stage, so the same config gives the same frames):

    1. **Suppliers** ``S00001..``: country from 10 countries (own late-logit offset
       -0.45..+0.45), 1-3 of 8 categories (own offsets -0.25..+0.30), base late-logit
       ~ N(-2.9, 0.6), a slow trend ~ N(0, 0.2) logit per year, size (expected lines
       per year) lognormal with log-sd ``size_sigma`` (0.8) and mean ``lines_per_supplier_per_year``,
       capacity ~ U(1.2, 2.0) x its usual load, preparation time ~ 6 d x LogN(0, 0.35),
       a disruption proneness ~ Gamma(2, 1/2) and a default incoterm.
    2. **Orders**: for each supplier and calendar month, POs ~ Poisson(size / 2.2 x
       month intensity x surge), surge ~ Gamma(4, 1/4) (demand bursts). Day intensity is
       weekdays 1, weekends 0.15, x a month factor (August and December dips), x 1.5 in
       the last 14 days of each quarter, x 0.3 from 24 December to 1 January. Orders run
       over ``[start, export)`` with ``export = start + round(365.25 years)`` days; PO
       ids ``PO0000001..`` are chronological. Each PO has 1 + Poisson(1.2) lines (at
       most 8), a destination (4 hubs), priority urgent with probability 0.12, an
       incoterm (the supplier's default 85 % of the time) and a ship mode whose mix
       depends on the route (trucks only overland, under 4000 km) and on urgency.
    3. **Lines**: category uniform among the supplier's, item from a per-category
       catalogue (popular items more likely), quantity ~ category median x LogN(0, 0.9),
       unit price = item price x 3 %/year inflation x LogN(0, 0.02); the invoice price
       equals it on 92 % of lines and differs by N(+1 %, 3 %) otherwise.
       ``extra_priority`` and ``extra_distance_km`` (great-circle km x LogN(0, 0.05)).
    4. **Promised date** = order + lead, lead = preparation x LogN(0, 0.25) + transit
       (median Air 4, Ocean 36, Truck 8, Courier 3 days, log-sd 0.2-0.3), x 0.7 when
       urgent, + 1-7 days on 30 % of lines (back-ordered items), at least 1 day.
    5. **Late logit** = base + trend + country + category + mode (Ocean +0.35, Courier
       -0.4, Air -0.2) + 0.3 urgent - 0.8 x log(lead / usual lead) (tight promises are
       riskier, clipped to +-1.5) + 0.15 per 10 000 km + 0.8 x overload + promised-month
       bump (December +0.45, November/January +0.15, February +0.5 more for China and
       Vietnam) + 2.5 during a disruption episode. Overload = trailing-30-day lines of
       the supplier / (usual 30-day lines x capacity) - 1, clipped to [0, 2].
    6. **Disruption episodes**: per supplier Poisson(``episodes_per_supplier_year``
       (0.3) x proneness) episodes per year, starting uniformly from 60 days before the
       start to 60 days after export, 30-120 days long (they may overlap); a line is in
       an episode when its promised date is, so late deliveries cluster in time.
    7. **Outcome**: ``p_late_true = sigmoid(logit)``, ``late_true ~ Bernoulli``. Late
       lines arrive ``1 + floor(Gamma(1.5) x scale)`` days after the promise (scale Air 2,
       Ocean 6, Truck 2.5, Courier 1.5 days, x 4 in an episode); on-time lines arrive on
       the promised date (55 %) or 1-7 days early (never before the order). Lines
       delivered after the export date are open: no delivered date, received, rejected
       quantity or invoice price. Delivered lines are short-shipped (70-99 %) on 3 % of
       lines (20 % in episodes); 4 % have 1-15 % of the received quantity rejected.
    8. **Drift** (``drift=True``): for orders from ``drift_start`` (``drift_months``
       before export) the ship-mode mix moves half-way to Ocean, Vietnam's late-logit
       jumps +1.2, quantities scale x 1.5 and promised lead times x 0.75. Every random
       draw is the same with and without drift, so the history before the window is
       identical.

    Two knobs break the usual assumptions on purpose: ``max_delay_days`` caps every delay
    (a retail export where nothing is more than a few days late), and the first
    ``always_late_suppliers`` suppliers deliver every line late (``p_late_true`` = 1).

    The base parameters give an overall late rate of about 15 % (about 12 % with
    hundreds of lines per supplier and year, whose loads fluctuate less). ``truth`` rows
    align with ``history`` rows; ``delay_days_true`` is 0 for on-time lines.
    """
    names = ("suppliers", "episodes", "orders", "lines", "outcomes")
    streams = dict(
        zip(
            names,
            (np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(len(names))),
            strict=True,
        )
    )
    sup = _make_suppliers(config, streams["suppliers"])
    cal = _make_calendar(config)
    episodes, disrupted_days = _make_episodes(config, cal, sup, streams["episodes"])
    history, truth = _make_lines(config, cal, sup, disrupted_days, streams)
    return SynthHistory(
        history=history,
        truth=truth,
        episodes=episodes,
        suppliers=sup.frame,
        export_date=config.export_date,
    )


def write_synth(result: SynthHistory, out_dir: Path) -> dict[str, Path]:
    """Write history, truth, episodes and suppliers as Parquet files (atomically) into ``out_dir``."""
    frames = {
        "history": result.history,
        "truth": result.truth,
        "episodes": result.episodes,
        "suppliers": result.suppliers,
    }
    return {name: write_parquet(frame, Path(out_dir) / f"{name}.parquet") for name, frame in frames.items()}


def _ids(prefix: str, numbers: Array, width: int) -> Array:
    """``prefix`` + zero-padded ``numbers`` as an object array of str, built without a loop over rows."""
    width = max(width, len(str(int(numbers.max())))) if len(numbers) else width
    head = prefix.encode("ascii")
    raw = np.empty((len(numbers), len(head) + width), dtype=np.uint8)
    raw[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest = numbers.astype(np.int64)
    for position in range(len(head) + width - 1, len(head) - 1, -1):  # one pass per digit
        raw[:, position] = rest % 10 + ord("0")
        rest //= 10
    return raw.view(f"S{raw.shape[1]}").ravel().astype(f"U{raw.shape[1]}").astype(object)


def _table(values: tuple[str, ...] | list[str]) -> Array:
    """Return a small object array to index with codes: the strings are shared, not copied per line."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _days_to_datetime(start: pd.Timestamp, days: Array, missing: Array | None = None) -> Array:
    """Day offsets from ``start`` as ``datetime64[ns]``, NaT where ``missing``."""
    ns = start.value + days.astype(np.int64) * DAY_NS
    if missing is not None:
        ns[missing] = np.iinfo(np.int64).min  # the NaT sentinel
    return ns.view("datetime64[ns]")


def _haversine_km(lat1: Array, lon1: Array, lat2: Array, lon2: Array) -> Array:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def _route_tables() -> tuple[Array, Array]:
    """Distance (km) and overland flag for every (country, destination)."""
    c_lat = np.array([c[4] for c in COUNTRIES])[:, None]
    c_lon = np.array([c[5] for c in COUNTRIES])[:, None]
    d_lat = np.array([d[3] for d in DESTINATIONS])[None, :]
    d_lon = np.array([d[4] for d in DESTINATIONS])[None, :]
    distance = _haversine_km(c_lat, c_lon, d_lat, d_lon)
    same = np.array([[c[3] == d[2] for d in DESTINATIONS] for c in COUNTRIES])
    land = np.array([c[0] not in NO_OVERLAND for c in COUNTRIES])[:, None]
    return distance, same & land & (distance < OVERLAND_MAX_KM)


def _make_suppliers(config: SynthConfig, rng: np.random.Generator) -> _Suppliers:
    n = config.suppliers
    weights = np.array([c[2] for c in COUNTRIES])
    country = rng.choice(len(COUNTRIES), size=n, p=weights / weights.sum())
    n_categories = rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15])
    # Distinct categories per supplier: the first columns of a random permutation per row.
    categories = np.argsort(rng.random((n, len(CATEGORIES))), axis=1)[:, :3]
    base_logit = rng.normal(BASE_LOGIT_MEAN, BASE_LOGIT_SD, size=n)
    trend = rng.normal(0.0, TREND_SD, size=n)
    # Lognormal sizes normalised to the requested mean.
    size = config.lines_per_supplier_per_year * np.exp(
        config.size_sigma * rng.standard_normal(n) - config.size_sigma**2 / 2
    )
    capacity = rng.uniform(1.2, 2.0, size=n)
    prep_days = 6.0 * np.exp(0.35 * rng.standard_normal(n))
    disruption_factor = rng.gamma(2.0, 0.5, size=n)
    incoterm = rng.integers(0, len(INCOTERMS), size=n)
    name_perm = rng.permutation(len(NAME_PREFIXES) * len(NAME_CORES))

    # Names: a distinct prefix/core pair per supplier within a country (loop over suppliers only).
    # Countries start at different points of the permutation, so names rarely repeat across countries.
    country_names = [COUNTRIES[c][0] for c in country]
    seen: dict[str, int] = {}
    names: list[str] = []
    for c, cname in zip(country, country_names, strict=True):
        rank = seen.get(cname, 0)
        seen[cname] = rank + 1
        combo = int(name_perm[(rank + int(c) * len(name_perm) // len(COUNTRIES)) % len(name_perm)])
        pre, core = NAME_PREFIXES[combo // len(NAME_CORES)], NAME_CORES[combo % len(NAME_CORES)]
        suffix = f" {rank // len(name_perm) + 1}" if rank >= len(name_perm) else ""
        names.append(f"{pre} {core}{suffix} {LEGAL_FORMS[cname]}")

    cat_names = [c[1] for c in CATEGORIES]
    offered = [
        "|".join(cat_names[c] for c in row[:k]) for row, k in zip(categories, n_categories, strict=True)
    ]
    frame = pd.DataFrame(
        {
            "supplier_id": _ids("S", np.arange(1, n + 1), 5),
            "supplier_name": _table(names),
            "supplier_country": _table(country_names),
            "categories": _table(offered),
            "base_logit": base_logit,
            "country_logit": np.array([COUNTRIES[c][1] for c in country], dtype=float),
            "trend_logit_per_year": trend,
            "lines_per_year": size,
            "capacity": capacity,
            "prep_days": prep_days,
            "disruption_rate_per_year": config.episodes_per_supplier_year * disruption_factor,
            "default_incoterm": _table(INCOTERMS)[incoterm],
        }
    )
    return _Suppliers(
        country=country.astype(np.int16),
        categories=categories.astype(np.int8),
        n_categories=n_categories.astype(np.int8),
        base_logit=base_logit.astype(np.float32),
        trend=trend.astype(np.float32),
        size=size,
        capacity=capacity,
        prep_days=prep_days.astype(np.float32),
        disruption_factor=disruption_factor,
        incoterm=incoterm.astype(np.int8),
        frame=frame,
    )


def _make_calendar(config: SynthConfig) -> _Calendar:
    n_days = config.n_days
    n_ext = n_days + TAIL_DAYS
    dates = pd.date_range(config.start_date, periods=n_ext, freq="D")
    month = dates.month.to_numpy().astype(np.int8)
    day = dates.day.to_numpy()
    weekday = dates.dayofweek.to_numpy()

    o_month, o_day = month[:n_days], day[:n_days]
    weight = np.where(weekday[:n_days] < 5, 1.0, 0.15)
    weight *= np.asarray(ORDER_MONTH_FACTOR)[o_month - 1]
    # Buyers rush orders out before quarter ends and pause over the holidays.
    days_in_month = dates.days_in_month.to_numpy()[:n_days]
    quarter_end = (o_month % 3 == 0) & (o_day > days_in_month - 14)
    weight *= np.where(quarter_end, 1.5, 1.0)
    holiday = ((o_month == 12) & (o_day >= 24)) | ((o_month == 1) & (o_day == 1))
    weight *= np.where(holiday, 0.3, 1.0)

    years = dates.year.to_numpy()[:n_days]
    period = (years - years[0]) * 12 + o_month - o_month[0]
    starts = np.flatnonzero(np.r_[True, period[1:] != period[:-1]])
    return _Calendar(
        n_days=n_days,
        n_ext=n_ext,
        month=month,
        period_first=starts,
        period_weight=np.add.reduceat(weight, starts),
        cum_weight=np.cumsum(weight),
        mean_weight=float(weight.mean()),
    )


def _make_episodes(
    config: SynthConfig, cal: _Calendar, sup: _Suppliers, rng: np.random.Generator
) -> tuple[pd.DataFrame, Array]:
    """Disruption episodes and a (supplier x day) flag of days inside one."""
    lo, hi = -60, cal.n_days + 60
    counts = rng.poisson(config.episodes_per_supplier_year * sup.disruption_factor * (hi - lo) / 365.25)
    owner = np.repeat(np.arange(config.suppliers), counts)
    start = rng.integers(lo, hi, size=len(owner))
    end = start + rng.integers(30, 121, size=len(owner)) - 1  # inclusive
    order = np.lexsort((start, owner))
    owner, start, end = owner[order], start[order], end[order]

    # Difference array along days, then a running sum: vectorised interval painting.
    diff = np.zeros((config.suppliers, cal.n_ext + 1), dtype=np.int16)
    np.add.at(diff, (owner, np.clip(start, 0, cal.n_ext)), 1)
    np.add.at(diff, (owner, np.clip(end + 1, 0, cal.n_ext)), -1)
    flag = np.cumsum(diff, axis=1, dtype=np.int16)[:, : cal.n_ext] > 0

    frame = pd.DataFrame(
        {
            "supplier_id": sup.frame["supplier_id"].to_numpy()[owner],
            "start_date": _days_to_datetime(config.start_date, start),
            "end_date": _days_to_datetime(config.start_date, end),
        }
    )
    return frame, flag


def _pick(u: Array, probabilities: Array, rows: Array | None = None) -> Array:
    """Categorical draws by inverse CDF from uniforms ``u``; ``rows`` selects a row of probabilities."""
    cum = np.cumsum(probabilities, axis=-1)
    cum = cum / cum[..., -1:]
    if rows is None:
        return np.searchsorted(cum, u, side="right").clip(0, cum.shape[-1] - 1)
    edges = cum[rows][:, :-1].astype(np.float32)
    return (u[:, None] >= edges).sum(axis=1).astype(np.int8)


@dataclass(frozen=True)
class _Orders:
    """Purchase orders (one row per PO, chronological): supplier, day, lines, route, mode, lead, load."""

    sup: Array
    day: Array
    lines: Array
    dest: Array
    urgent: Array
    drift: Array
    mode: Array
    incoterm: Array
    lead: Array
    usual_lead: Array
    overload: Array


@dataclass(frozen=True)
class _Lines:
    """PO lines (rows in PO order, line 1..k within a PO) with their order-time facts."""

    po: Array
    line_no: Array
    sup: Array
    country: Array
    day: Array
    mode: Array
    urgent: Array
    drift: Array
    dest: Array
    category: Array
    item: Array
    n_items: int
    quantity: Array
    price: Array
    lead: Array
    promised: Array
    km: Array


@dataclass(frozen=True)
class _Outcomes:
    """What happened to each line; open lines (delivered after export) have no outcome quantities."""

    p_late: Array  # the true late probability, 1 for the always-late suppliers
    late: Array
    delay: Array
    delivered: Array
    is_open: Array
    received: Array
    rejected: Array
    invoice: Array


def _make_lines(
    config: SynthConfig,
    cal: _Calendar,
    sup: _Suppliers,
    disrupted_days: Array,
    streams: dict[str, np.random.Generator],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders, lines, late logits and outcomes: the history and its truth, rows aligned."""
    orders = _make_orders(config, cal, sup, streams["orders"])
    lines = _make_line_facts(config, sup, orders, streams["lines"])
    in_episode = disrupted_days[lines.sup, np.minimum(lines.promised, cal.n_ext - 1)]
    p_late = _late_probability(cal, sup, orders, lines, in_episode)
    if config.shock_country is not None:
        shocked = (lines.country == [c[0] for c in COUNTRIES].index(config.shock_country)) & (
            lines.promised >= (pd.Timestamp(config.shock_from) - config.start_date).days
        )
        odds = p_late / (1.0 - p_late) * config.shock_odds
        p_late = np.where(shocked, odds / (1.0 + odds), p_late)
    outcomes = _make_outcomes(config, cal, lines, p_late, in_episode, streams["outcomes"])
    return _assemble(config, sup, orders, lines, outcomes, in_episode)


def _make_orders(config: SynthConfig, cal: _Calendar, sup: _Suppliers, rng: np.random.Generator) -> _Orders:
    """Poisson PO counts per supplier-month, a day within the month, then each PO's route, mode and lead."""
    n_sup, n_periods = config.suppliers, len(cal.period_first)
    drift_day = (config.drift_start - config.start_date).days

    lines_per_po = 1.0 + LINES_PER_PO_EXTRA
    surge = rng.gamma(SURGE_SHAPE, 1.0 / SURGE_SHAPE, size=(n_sup, n_periods))
    rate = (sup.size / lines_per_po / 365.25)[:, None] * (cal.period_weight / cal.mean_weight)[None, :]
    cell = np.repeat(np.arange(n_sup * n_periods, dtype=np.int64), rng.poisson(rate * surge).ravel())
    po_sup, po_period = (cell // n_periods).astype(np.int32), (cell % n_periods).astype(np.int32)
    del cell, surge, rate
    first = cal.period_first[po_period]
    before = np.r_[0.0, cal.cum_weight][first]  # intensity summed over the days before the month
    target = before + rng.random(len(po_sup)) * cal.period_weight[po_period]
    last = np.r_[cal.period_first[1:], cal.n_days][po_period] - 1
    po_day = np.searchsorted(cal.cum_weight, target, side="right").clip(first, last).astype(np.int32)
    del first, before, target, last, po_period
    # Chronological PO numbers: sort by day, then supplier (stable, so ties stay deterministic).
    order = np.lexsort((po_sup, po_day))
    po_sup, po_day = po_sup[order], po_day[order]
    n_po = len(po_sup)
    del order

    po_lines = (1 + np.minimum(rng.poisson(LINES_PER_PO_EXTRA, n_po), MAX_LINES_PER_PO - 1)).astype(np.int8)
    po_dest = _pick(rng.random(n_po), np.array([d[1] for d in DESTINATIONS])).astype(np.int8)
    po_urgent = rng.random(n_po) < URGENT_SHARE
    po_drift = (po_day >= drift_day) if config.drift else np.zeros(n_po, dtype=bool)
    distance, overland = _route_tables()
    po_country = sup.country[po_sup]
    overseas = ~overland[po_country, po_dest]
    # Mode-mix rows indexed by 4 x drift + 2 x overseas + urgent; drift rows move towards Ocean.
    mix = np.array([MODE_MIX[(o, g)] for _ in range(2) for o in (False, True) for g in (False, True)])
    mix[4:] = (1 - DRIFT_OCEAN_MIX) * mix[4:] + DRIFT_OCEAN_MIX * np.eye(len(SHIP_MODES))[OCEAN]
    po_mode = _pick(rng.random(n_po, dtype=np.float32), mix, 4 * po_drift + 2 * overseas + po_urgent)
    keep_default = rng.random(n_po) < 0.85
    po_incoterm = np.where(keep_default, sup.incoterm[po_sup], rng.integers(0, len(INCOTERMS), n_po))
    prep = sup.prep_days[po_sup] * np.exp(0.25 * rng.standard_normal(n_po, dtype=np.float32))
    transit = TRANSIT_MEDIAN[po_mode] * np.exp(TRANSIT_SIGMA[po_mode] * rng.standard_normal(n_po, np.float32))
    po_lead = (prep + transit) * np.where(po_urgent, 0.7, 1.0).astype(np.float32)
    po_lead *= np.where(po_drift, DRIFT_LEAD, 1.0).astype(np.float32)
    po_usual = sup.prep_days[po_sup] + TRANSIT_MEDIAN[po_mode]
    del prep, transit, keep_default, overseas, po_country

    # Load: the supplier's lines ordered in the trailing 30 days (inclusive) vs its usual volume.
    stride = np.int64(cal.n_days + 64)
    key = po_sup.astype(np.int64) * stride + po_day
    by_key = np.argsort(key, kind="stable")
    sorted_key = key[by_key]
    cum_lines = np.r_[0, np.cumsum(po_lines[by_key], dtype=np.int64)]
    window = cum_lines[np.searchsorted(sorted_key, sorted_key, "right")]
    window -= cum_lines[np.searchsorted(sorted_key, sorted_key - 29, "left")]
    recent = np.empty(n_po, dtype=np.float32)
    recent[by_key] = window
    del key, by_key, sorted_key, cum_lines, window
    usual_30 = (sup.size * 30.0 / 365.25 * sup.capacity).astype(np.float32)
    po_overload = np.clip(recent / usual_30[po_sup] - 1.0, 0.0, 2.0)
    del recent

    return _Orders(
        sup=po_sup,
        day=po_day,
        lines=po_lines,
        dest=po_dest,
        urgent=po_urgent,
        drift=po_drift,
        mode=po_mode,
        incoterm=po_incoterm,
        lead=po_lead,
        usual_lead=po_usual,
        overload=po_overload,
    )


def _make_line_facts(
    config: SynthConfig, sup: _Suppliers, orders: _Orders, rng: np.random.Generator
) -> _Lines:
    """Expand the POs into lines: category, item, quantity, price, promised date and distance."""
    n_sup = config.suppliers
    po_lines, po_sup, po_day, po_mode = orders.lines, orders.sup, orders.day, orders.mode
    po_urgent, po_drift, po_dest, po_lead = orders.urgent, orders.drift, orders.dest, orders.lead
    distance, _ = _route_tables()
    n_po = len(po_sup)
    line_po = np.repeat(np.arange(n_po, dtype=np.int32), po_lines)
    n = len(line_po)
    po_first = np.r_[0, np.cumsum(po_lines, dtype=np.int64)[:-1]]
    line_no = (np.arange(n, dtype=np.int64) - po_first[line_po] + 1).astype(np.int8)
    del po_first
    s = po_sup[line_po]
    country = sup.country[s]
    day = po_day[line_po]
    mode = po_mode[line_po]
    urgent = po_urgent[line_po]
    drift = po_drift[line_po]
    dest = po_dest[line_po]

    pick = rng.random(n, dtype=np.float32)
    category = sup.categories[s, (pick * sup.n_categories[s]).astype(np.int8)]
    n_items = max(20, 2 * n_sup)
    cat_price = np.array([c[2] for c in CATEGORIES])[:, None]
    cat_sigma = np.array([c[3] for c in CATEGORIES])[:, None]
    item_price = cat_price * np.exp(cat_sigma * rng.standard_normal((len(CATEGORIES), n_items)))
    # u**2 skews choices towards the first (popular) items of each catalogue.
    popular = np.minimum(n_items * rng.random(n, np.float32) ** 2, n_items - 1).astype(np.int32)
    item = category.astype(np.int32) * n_items + popular
    qty_median = np.array([c[4] for c in CATEGORIES], dtype=np.float32)
    quantity = qty_median[category] * np.exp(0.9 * rng.standard_normal(n, np.float32))
    quantity = np.maximum(1.0, np.rint(quantity))
    quantity = np.where(drift, np.rint(quantity * DRIFT_QUANTITY), quantity).astype(np.float64)
    inflation = (1.03 ** (day / 365.25)).astype(np.float32)
    noise = np.exp(0.02 * rng.standard_normal(n, np.float32))
    price = np.maximum(0.01, np.round(item_price.ravel()[item] * inflation * noise, 2))
    del inflation, noise, pick

    backorder = np.where(rng.random(n, np.float32) < 0.3, rng.integers(1, 8, n, dtype=np.int8), 0)
    lead_f = po_lead[line_po] + backorder
    lead = np.maximum(1, np.rint(lead_f)).astype(np.int32)
    promised = day + lead
    del backorder
    km = (distance[country, dest] * np.exp(0.05 * rng.standard_normal(n))).round(1)

    return _Lines(
        po=line_po,
        line_no=line_no,
        sup=s,
        country=country,
        day=day,
        mode=mode,
        urgent=urgent,
        drift=drift,
        dest=dest,
        category=category,
        item=item,
        n_items=n_items,
        quantity=quantity,
        price=price,
        lead=lead,
        promised=promised,
        km=km,
    )


def _late_probability(
    cal: _Calendar, sup: _Suppliers, orders: _Orders, lines: _Lines, in_episode: Array
) -> Array:
    """Each line's true late probability from the documented logit (step 5 of ``generate_history``)."""
    s, day, country, category, mode = lines.sup, lines.day, lines.country, lines.category, lines.mode
    urgent, drift, km, lead, line_po = lines.urgent, lines.drift, lines.km, lines.lead, lines.po
    po_usual, po_overload, promised = orders.usual_lead, orders.overload, lines.promised
    cat_logit = np.array([c[5] for c in CATEGORIES], dtype=np.float32)
    country_logit = np.array([c[1] for c in COUNTRIES], dtype=np.float32)
    month_logit = np.tile(np.asarray(LATE_MONTH_LOGIT, dtype=np.float32), (len(COUNTRIES), 1))
    for i, c in enumerate(COUNTRIES):
        if c[0] in ("China", "Vietnam"):
            month_logit[i, 1] += LUNAR_NEW_YEAR_LOGIT
    promised_ext = np.minimum(promised, cal.n_ext - 1)
    logit = sup.base_logit[s] + sup.trend[s] * ((day - cal.n_days / 2) / 365.25).astype(np.float32)
    logit += country_logit[country] + cat_logit[category] + MODE_LOGIT[mode]
    logit += np.float32(URGENT_LOGIT) * urgent
    tightness = np.clip(np.log(lead / po_usual[line_po]), -1.5, 1.5).astype(np.float32)
    logit += np.float32(TIGHTNESS_LOGIT) * tightness
    logit += (DISTANCE_LOGIT_PER_10000KM * km / 10_000).astype(np.float32)
    logit += np.float32(LOAD_LOGIT) * po_overload[line_po]
    logit += month_logit[country, cal.month[promised_ext] - 1]
    drift_country = [c[0] for c in COUNTRIES].index(DRIFT_COUNTRY)
    logit += np.float32(DRIFT_COUNTRY_LOGIT) * (drift & (country == drift_country))
    logit += np.float32(DISRUPTION_LOGIT) * in_episode
    del tightness, promised_ext
    p_late = 1.0 / (1.0 + np.exp(-logit.astype(np.float64)))
    del logit

    return p_late


def _make_outcomes(
    config: SynthConfig,
    cal: _Calendar,
    lines: _Lines,
    p_late: Array,
    in_episode: Array,
    rng: np.random.Generator,
) -> _Outcomes:
    """Late or not, delays, early deliveries, short shipments, rejects and invoice prices (own stream)."""
    s, mode, promised, lead, quantity, price = (
        lines.sup,
        lines.mode,
        lines.promised,
        lines.lead,
        lines.quantity,
        lines.price,
    )
    n = len(s)
    always_late = s < config.always_late_suppliers
    p_late = np.where(always_late, 1.0, p_late)
    late = rng.random(n) < p_late
    scale = DELAY_SCALE[mode] * np.where(in_episode, 4.0, 1.0).astype(np.float32)
    delay = np.where(late, 1 + np.floor(rng.standard_gamma(1.5, n).astype(np.float32) * scale), 0)
    if config.max_delay_days is not None:
        delay = np.minimum(delay, config.max_delay_days)
    delay = delay.astype(np.int32)
    early = np.where(rng.random(n, np.float32) < 0.55, 0, 1 + np.floor(rng.exponential(1.5, n)))
    early = np.minimum(np.minimum(early, 7), lead).astype(np.int32)
    delivered = np.where(late, promised + delay, promised - early)
    is_open = delivered > cal.n_days
    del scale, early

    short = rng.random(n, np.float32) < np.where(in_episode, 0.20, 0.03)
    short &= quantity >= 2
    fraction = rng.uniform(0.70, 0.99, n)
    received = np.where(short, np.minimum(quantity - 1, np.floor(quantity * fraction)), quantity)
    reject = rng.random(n, np.float32) < 0.04
    share = rng.uniform(0.01, 0.15, n)
    rejected = np.minimum(received, np.maximum(1, np.rint(received * share)))
    rejected = np.where(reject & (received > 0), rejected, 0)
    differs = rng.random(n, np.float32) < 0.08
    ratio = 1.0 + rng.normal(0.01, 0.03, n)
    invoice = np.where(differs, np.maximum(0.01, np.round(price * ratio, 2)), price)
    del short, fraction, reject, share, differs, ratio
    received[is_open] = np.nan
    rejected = rejected.astype(np.float64)
    rejected[is_open] = np.nan
    invoice[is_open] = np.nan

    return _Outcomes(p_late, late, delay, delivered, is_open, received, rejected, invoice)


def _assemble(
    config: SynthConfig,
    sup: _Suppliers,
    orders: _Orders,
    lines: _Lines,
    outcomes: _Outcomes,
    in_episode: Array,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The history and truth frames; object string columns index small tables, so strings are shared."""
    s, line_po, line_no, n_items, item = lines.sup, lines.po, lines.line_no, lines.n_items, lines.item
    n, n_po = len(s), len(orders.sup)
    country, category, day, promised, mode = (
        lines.country,
        lines.category,
        lines.day,
        lines.promised,
        lines.mode,
    )
    dest, urgent, km, quantity, price = lines.dest, lines.urgent, lines.km, lines.quantity, lines.price
    delivered, is_open, late, delay = outcomes.delivered, outcomes.is_open, outcomes.late, outcomes.delay
    received, rejected, invoice, p_late = (
        outcomes.received,
        outcomes.rejected,
        outcomes.invoice,
        outcomes.p_late,
    )
    po_incoterm = orders.incoterm
    start = config.start_date
    supplier_id = sup.frame["supplier_id"].to_numpy()[s]
    po_id = _ids("PO", np.arange(1, n_po + 1), 7)[line_po]
    line_id = _table([str(k) for k in range(1, MAX_LINES_PER_PO + 1)])[line_no - 1]
    cat_codes = [c[0] for c in CATEGORIES]
    item_ids = np.concatenate([_ids(f"{code}-", np.arange(1, n_items + 1), 5) for code in cat_codes])
    columns: dict[str, Array] = {
        "po_id": po_id,
        "line_id": line_id,
        "supplier_id": supplier_id,
        "supplier_name": sup.frame["supplier_name"].to_numpy()[s],
        "supplier_country": _table([c[0] for c in COUNTRIES])[country],
        "category": _table([c[1] for c in CATEGORIES])[category],
        "item_id": item_ids[item],
        "order_date": _days_to_datetime(start, day),
        "promised_date": _days_to_datetime(start, promised),
        "delivered_date": _days_to_datetime(start, delivered, is_open),
        "quantity_ordered": quantity,
        "quantity_received": received,
        "quantity_rejected": rejected,
        "unit_price": price.astype(np.float64),
        "invoice_unit_price": invoice.astype(np.float64),
        "currency": _table(["USD"])[np.zeros(n, dtype=np.int8)],
        "ship_mode": _table(SHIP_MODES)[mode],
        "incoterm": _table(INCOTERMS)[po_incoterm[line_po]],
        "destination": _table([d[0] for d in DESTINATIONS])[dest],
        "extra_priority": _table(PRIORITIES)[urgent.astype(np.int8)],
        "extra_distance_km": km.astype(np.float64),
    }
    if tuple(columns)[: len(CANONICAL_FIELDS)] != CANONICAL_FIELDS:  # guards edits of the dict above
        raise RuntimeError("synthetic columns are out of canonical order")
    history = _frame(columns)
    del columns
    truth = _frame(
        {
            # Copies of the pointer arrays, so editing one frame in place never edits the other.
            "po_id": po_id.copy(),
            "line_id": line_id.copy(),
            "supplier_id": supplier_id.copy(),
            "p_late_true": p_late,
            "late_true": late,
            "delay_days_true": delay.astype(np.int64),
            "in_disruption": in_episode,
        }
    )
    return history, truth


def _frame(columns: dict[str, Array]) -> pd.DataFrame:
    """Wrap ``columns`` in a frame without copying them (``copy=False`` also skips consolidation)."""
    return pd.DataFrame(columns, copy=False)


def disruption_truth(episodes: pd.DataFrame, snapshots: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Per ``(supplier_id, as_of)`` snapshot, the true disruption state in ``(as_of, as_of + horizon]``.

    ``in_episode``: some episode of the supplier overlaps the horizon (including one
    already under way at as-of); ``episode_starts``: an episode begins inside it.
    Episodes run from ``start_date`` to ``end_date`` inclusive.
    """
    as_of = pd.to_datetime(snapshots["as_of"])
    frame = pd.DataFrame({"supplier_id": snapshots["supplier_id"].to_numpy(), "as_of": as_of.to_numpy()})
    frame["row"] = np.arange(len(frame))
    joined = frame.merge(episodes, on="supplier_id", how="inner")
    horizon_end = joined["as_of"] + pd.Timedelta(days=horizon_days)
    overlaps = (joined["start_date"] <= horizon_end) & (joined["end_date"] > joined["as_of"])
    starts = (joined["start_date"] > joined["as_of"]) & (joined["start_date"] <= horizon_end)
    in_episode = np.zeros(len(frame), dtype=bool)
    episode_starts = np.zeros(len(frame), dtype=bool)
    in_episode[joined.loc[overlaps, "row"].to_numpy()] = True
    episode_starts[joined.loc[starts, "row"].to_numpy()] = True
    return pd.DataFrame({"in_episode": in_episode, "episode_starts": episode_starts}, index=snapshots.index)
