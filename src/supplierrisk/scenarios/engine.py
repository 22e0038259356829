"""A scenario end to end: template, allocation, point-in-time re-scoring, Monte Carlo, summary.

Pure functions of frames and loaded models; the CLI, the API and the page wire them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from supplierrisk.modeling.dispersion import Dispersion
from supplierrisk.modeling.disruption import DisruptionModel
from supplierrisk.modeling.otd import OtdModel
from supplierrisk.modeling.scoring import HistoryAt, line_features, score_supplier_risk
from supplierrisk.scenarios.allocation import allocate, line_volume
from supplierrisk.scenarios.inputs import ScenarioInputError, ScenarioRequest
from supplierrisk.scenarios.simulation import MonteCarloInputs, key_hashes, simulate
from supplierrisk.scenarios.summary import summarise
from supplierrisk.scenarios.template import SupplierFacts, demand_template, supplier_facts

# Lines ordered in one 91-day block of the horizon share its period shift (the backtest's months
# drift together over about a quarter); a longer horizon draws one per block.
PERIOD_DAYS = 91


class DispersionMissingError(ValueError):
    """The OTD champion predates scenarios: it has no fitted over-dispersion."""


@dataclass(frozen=True)
class Models:
    """The champions a scenario scores with, and their versions (for the record)."""

    otd: OtdModel
    disruption: DisruptionModel | None = None
    versions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScenarioResult:
    """Baseline, scenario and their difference, per supplier figures, and the draws behind them."""

    baseline: dict[str, Any]
    scenario: dict[str, Any]
    difference: dict[str, Any]
    suppliers: pd.DataFrame
    late_lines: dict[str, np.ndarray]
    meta: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready figures: the blocks, suppliers and the late-line histogram (not the draws)."""
        return json_ready(
            {
                **self.meta,
                "baseline": self.baseline,
                "scenario": self.scenario,
                "difference": self.difference,
                "suppliers": self.suppliers.to_dict(orient="records"),
                "distribution": late_line_histogram(self.late_lines),
            }
        )


def json_ready(value: Any) -> Any:
    """Nested dicts and lists of plain JSON values: numpy scalars unwrapped, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NaT:
        return None
    return value


HISTOGRAM_BINS = 30


def late_line_histogram(late_lines: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """Runs per bin of late lines for each arm, on shared bins (whole lines when the range is small)."""
    values = np.concatenate(list(late_lines.values()))
    low, high = float(np.floor(values.min())), float(np.ceil(values.max()))
    width = max(1.0, float(np.ceil((high - low + 1) / HISTOGRAM_BINS)))
    edges = np.arange(low, high + width + 1e-9, width)
    out: dict[str, list[float]] = {"bin_start": edges[:-1].tolist(), "bin_end": edges[1:].tolist()}
    for arm, draws in late_lines.items():
        out[arm] = np.histogram(draws, bins=edges)[0].astype(float).tolist()
    return out


def dispersion_of(model: OtdModel) -> Dispersion:
    """The champion's fitted over-dispersion, or a one-line error saying how to get one."""
    dispersion = getattr(model, "late_dispersion", None)
    if dispersion is None:
        raise DispersionMissingError(
            "the OTD champion was trained before scenarios and has no fitted over-dispersion:"
            " run 'supplierrisk train otd' (or 'supplierrisk retrain') and try again"
        )
    return dispersion


def place_lines(template: pd.DataFrame, pairs: pd.DataFrame, facts: SupplierFacts) -> pd.DataFrame:
    """Template lines as if placed with each pair's supplier: its identity and recent price for the item.

    A line left with its own supplier keeps its own price; a moved one takes the new
    supplier's recent price for the item, where it has one.
    """
    placed = template.iloc[pairs["line"].to_numpy()].reset_index(drop=True)
    supplier = pairs["supplier_id"].to_numpy()
    moved = supplier != placed["supplier_id"].to_numpy()
    placed["supplier_id"] = supplier
    for column in ("supplier_name", "supplier_country"):
        if column in placed:
            placed[column] = facts.attributes[column].reindex(supplier).to_numpy()
    if "item_id" in placed:
        keys = pd.MultiIndex.from_arrays([supplier, placed["item_id"].astype(str).to_numpy()])
        price = facts.recent_price.reindex(keys).to_numpy(dtype=float)
        use_recent = moved & np.isfinite(price)
        placed["unit_price"] = np.where(use_recent, price, placed["unit_price"].to_numpy(dtype=float))
    return placed


def disruption_over(
    models: Models, at: HistoryAt, suppliers: list[str], horizon_days: int
) -> tuple[np.ndarray, list[str]]:
    """Each supplier's chance of a disruption in the horizon (scaled from the model's own horizon)."""
    if models.disruption is None:
        return np.zeros(len(suppliers)), ["no disruption champion: supplier disruptions are not drawn"]
    scored = score_supplier_risk(models.disruption, at, explain=False)
    p = scored.set_index("supplier_id")["p_disruption"].reindex(suppliers).to_numpy(dtype=float)
    warnings = []
    missing = [s for s, v in zip(suppliers, p, strict=True) if not np.isfinite(v)]
    if missing:
        fill = float(np.nanmedian(scored["p_disruption"])) if len(scored) else 0.0
        p = np.where(np.isfinite(p), p, fill)
        warnings.append(
            f"no disruption score (not active at the as-of) for {', '.join(missing[:5])}:"
            f" the median of active suppliers ({fill:.1%}) is used"
        )
    model_horizon = models.disruption.event.horizon_days
    return 1.0 - (1.0 - np.clip(p, 0, 1)) ** (horizon_days / model_horizon), warnings


def monte_carlo_inputs(
    placed: pd.DataFrame,
    pairs: pd.DataFrame,
    models: Models,
    at: HistoryAt,
    horizon_days: int,
    time_to_recover: dict[str, float],
) -> tuple[MonteCarloInputs, list[str]]:
    """Score each placement as of the as-of and gather the simulation's arrays (and any warnings)."""
    model = models.otd
    features = line_features(model, at.index_for(model.feature_config), placed, at.as_of)
    scored, conditional = model.predict_with_delays(features)
    suppliers = sorted(set(pairs["supplier_id"]))
    codes = pd.Index(suppliers).get_indexer(pairs["supplier_id"])
    due = (placed["promised_date"] - at.as_of).dt.days.to_numpy(dtype=float)
    # Calendar weeks of the due date, as the over-dispersion was fitted.
    weeks = placed["promised_date"].dt.to_period("W").astype(str).to_numpy()
    week_names = pd.Series(np.asarray(suppliers, dtype=object)[codes]).astype(str).to_numpy() + "|" + weeks
    week, week_labels = pd.factorize(week_names, sort=True)
    ordered = (placed["order_date"] - at.as_of).dt.days.to_numpy(dtype=float)
    period = np.floor_divide(np.clip(ordered - 1, 0, None), PERIOD_DAYS).astype(np.int64)
    line_names = placed["po_id"].astype(str).to_numpy() + "|" + placed["line_id"].astype(str).to_numpy()
    line = pairs["line"].to_numpy()
    line_keys = np.zeros(int(line.max()) + 1 if len(line) else 0, dtype=np.uint64)
    line_keys[line] = key_hashes(line_names)
    p_disruption, warnings = disruption_over(models, at, suppliers, horizon_days)
    window = models.disruption.event.window_days if models.disruption is not None else 0
    episode = np.array([max(window, time_to_recover.get(s, 0.0)) for s in suppliers], dtype=float)
    value = (placed["quantity_ordered"] * placed["unit_price"]).to_numpy(dtype=float)
    inputs = MonteCarloInputs(
        line=line,
        supplier=codes,
        week=week,
        p_late=scored["p_late"].to_numpy(dtype=float),
        conditional_delay=conditional,
        levels=model.delay.levels,
        value=np.nan_to_num(value),
        due_offset_days=due,
        weights={
            arm: pairs[f"weight_{arm}"].to_numpy(dtype=float)
            for arm in ("baseline", "scenario")
            if f"weight_{arm}" in pairs
        },
        p_disruption=p_disruption,
        episode_days=episode,
        horizon_days=horizon_days,
        dispersion=dispersion_of(model),
        line_keys=line_keys,
        supplier_keys=key_hashes(np.asarray(suppliers, dtype=object)),
        week_keys=key_hashes(np.asarray(week_labels, dtype=object)),
        period=period,
    )
    return inputs, warnings


def run_scenario(request: ScenarioRequest, at: HistoryAt, models: Models) -> ScenarioResult:
    """Baseline against scenario for ``request`` at ``at.as_of`` (see the package docstring)."""
    if request.as_of is not None and request.as_of != at.as_of:
        raise ScenarioInputError(
            f"the history is at {at.as_of.date()}, the request at {request.as_of.date()}"
        )
    template = demand_template(at.known, request.category, at.as_of, request.horizon_days, request.planned)
    involved = set(template["supplier_id"]) | request.allocation.suppliers() | request.options.named()
    facts = supplier_facts(at.known, at.as_of, involved)
    placements = allocate(template, request.allocation, request.options, facts)
    placed = place_lines(template, placements.pairs, facts)
    inputs, warnings = monte_carlo_inputs(
        placed, placements.pairs, models, at, request.horizon_days, request.options.time_to_recover_days
    )
    draws = simulate(inputs, request.runs, request.seed)
    volume = line_volume(template)[placements.pairs["line"].to_numpy()]
    warnings = [*placements.warnings, *warnings]
    summary = summarise(inputs, draws, placed, facts, request, warnings, volume)
    meta = {
        "category": request.category,
        "as_of": at.as_of.date().isoformat(),
        "horizon_days": request.horizon_days,
        "runs": request.runs,
        "seed": request.seed,
        "template_lines": len(template),
        "sigma_supplier_week": inputs.dispersion.supplier_week,
        "sigma_period": inputs.dispersion.period,
        "model_versions": dict(models.versions),
    }
    return ScenarioResult(
        summary.baseline, summary.scenario, summary.difference, summary.suppliers, draws.late_lines, meta
    )
