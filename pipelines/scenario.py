"""Scenario jobs: run one against the champions, or replay history to validate the intervals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from supplierrisk.batch import folders
from supplierrisk.features import Tolerances, resolve_as_of
from supplierrisk.modeling.config import load_train_config
from supplierrisk.modeling.recipes import RECIPES
from supplierrisk.modeling.scoring import history_at
from supplierrisk.scenarios import Models, ScenarioRequest, ScenarioResult, run_scenario
from supplierrisk.scenarios.validation import Validation, check_range, replay
from supplierrisk.settings import Settings
from supplierrisk.storage import load_store
from supplierrisk.tracking import (
    CHAMPION,
    DISRUPTION_MODEL_NAME,
    OTD_MODEL_NAME,
    MissingChampionError,
    connect,
    load_model,
)

Announce = Callable[[str], None]


def champions(settings: Settings) -> Models:
    """The OTD champion (required) and the disruption champion (optional), with their versions."""
    client = connect(settings)
    otd, otd_version = load_model(client, OTD_MODEL_NAME, CHAMPION)
    versions = {"otd": str(otd_version.version)}
    try:
        disruption, version = load_model(client, DISRUPTION_MODEL_NAME, CHAMPION)
        versions["disruption"] = str(version.version)
    except MissingChampionError:
        disruption = None
    return Models(otd, disruption, versions)


def scenario_as_of(settings: Settings, history: pd.DataFrame, as_of: pd.Timestamp | None) -> pd.Timestamp:
    """``as_of``, else the latest batch's, else the store's last day."""
    if as_of is None:
        latest = folders.latest_batch(settings.batches_dir)
        if latest is not None:
            as_of = pd.Timestamp(folders.read_manifest(latest)["as_of"])
    return resolve_as_of(history, as_of, settings.batch_max_days_after_data).day


def run_scenario_job(
    settings: Settings, request: ScenarioRequest, announce: Announce | None = None
) -> ScenarioResult:
    """Load the store and champions and run ``request`` (as of the latest batch unless it says)."""
    history = load_store(settings.store_path)
    as_of = scenario_as_of(settings, history, request.as_of)
    if announce is not None and request.as_of is None:
        announce(f"as of {as_of.date()} (the latest batch's, or the store's last day); set --as-of to change")
    models = champions(settings)
    at = history_at(history, as_of, models.otd.feature_config)
    return run_scenario(request, at, models)


def trained_models(
    settings: Settings, history: pd.DataFrame, configs: dict[str, Path | None]
) -> Callable[[pd.Timestamp], Models]:
    """A function training both models as of a day (nothing registered), for replays."""
    tolerances = Tolerances(settings.on_time_tolerance_days, settings.in_full_tolerance)

    def models_at(as_of: pd.Timestamp) -> Models:
        trained = {
            kind: RECIPES[kind].train(history, as_of, load_train_config(configs.get(kind), kind), tolerances)
            for kind in ("otd", "disruption")
        }
        label = f"trained as of {as_of.date()}"
        return Models(trained["otd"].model, trained["disruption"].model, {"otd": label, "disruption": label})

    return models_at


def run_validation_job(
    settings: Settings,
    category: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    runs: int,
    seed: int,
    configs: dict[str, Path | None] | None = None,
    announce: Announce | None = None,
) -> Validation:
    """Replay each quarter start in ``[start, end]`` for ``category`` (or ``all``), training models then."""
    history = load_store(settings.store_path)
    starts = check_range(history, start, end)
    known = sorted(map(str, history["category"].dropna().unique()))
    if category != "all" and category not in known:
        raise ValueError(f"unknown category {category!r}; known categories: {', '.join(known)} (or all)")
    categories = known if category == "all" else [category]
    train = trained_models(settings, history, configs or {})

    def models_at(as_of: pd.Timestamp) -> Models:
        if announce is not None:
            announce(f"training both models as of {as_of.date()}")
        return train(as_of)

    return replay(
        history, categories, starts, models_at, settings.on_time_tolerance_days, runs=runs, seed=seed
    )


def _pct(value: float) -> str:
    return f"{value:.1%}" if value == value else "-"


def _row(label: str, base: str, scen: str, diff: str) -> str:
    return f"  {label:<26}{base:>22}{scen:>22}{diff:>22}"


def format_scenario(result: ScenarioResult) -> str:
    """Baseline, scenario and difference side by side, then suppliers and warnings."""
    b, s, d, m = result.baseline, result.scenario, result.difference, result.meta
    bands = [
        f"{r['late_lines_p10']:.1f} / {r['late_lines_p50']:.1f} / {r['late_lines_p90']:.1f}"
        for r in (b, s, d)
    ]
    lines = [
        f"scenario for {m['category']} as of {m['as_of']}, next {m['horizon_days']} days:"
        f" {m['template_lines']} template lines, {m['runs']} runs, seed {m['seed']}",
        _row("", "baseline", "scenario", "difference"),
        _row(
            "late lines, expected",
            f"{b['expected_late_lines']:.1f}",
            f"{s['expected_late_lines']:.1f}",
            f"{d['expected_late_lines']:+.1f}",
        ),
        _row("late lines P10 / P50 / P90", *bands),
        _row(
            "OTD [P10, P90]",
            f"{_pct(b['otd'])} [{_pct(b['otd_p10'])}, {_pct(b['otd_p90'])}]",
            f"{_pct(s['otd'])} [{_pct(s['otd_p10'])}, {_pct(s['otd_p90'])}]",
            f"{d['otd'] * 100:+.1f} pts",
        ),
        _row(
            "late value, expected",
            f"{b['expected_late_value']:,.0f}",
            f"{s['expected_late_value']:,.0f}",
            f"{d['expected_late_value']:+,.0f}",
        ),
        _row(
            "late value, CVaR95",
            f"{b['cvar95_late_value']:,.0f}",
            f"{s['cvar95_late_value']:,.0f}",
            f"{d['cvar95_late_value']:+,.0f}",
        ),
        _row(
            "days late, expected",
            f"{b['expected_days_late']:,.0f}",
            f"{s['expected_days_late']:,.0f}",
            f"{d['expected_days_late']:+,.0f}",
        ),
        _row("spend", f"{b['spend']:,.0f}", f"{s['spend']:,.0f}", f"{d['spend']:+,.0f}"),
        _row("HHI", f"{b['hhi']:,.0f}", f"{s['hhi']:,.0f}", f"{d['hhi']:+,.0f}"),
        _row(
            "single source",
            str(b["single_source"]),
            str(s["single_source"]),
            "changed" if d["single_source"] else "same",
        ),
        _row(
            "top supplier's share",
            _pct(b["top_share"]),
            _pct(s["top_share"]),
            f"{d['top_share'] * 100:+.1f} pts",
        ),
        "",
        "  suppliers (share of spend, expected late lines, disruption chance over the horizon):",
    ]
    table = result.suppliers.sort_values("spend_scenario", ascending=False, kind="mergesort")
    for row in table.itertuples(index=False):
        lines.append(
            f"    {row.supplier_id}: share {_pct(row.share_baseline)} -> {_pct(row.share_scenario)},"
            f" late {row.expected_late_lines_baseline:.2f} -> {row.expected_late_lines_scenario:.2f},"
            f" disruption {_pct(row.p_disruption_horizon)}"
        )
    warnings = s["warnings"]
    lines += ["", "  warnings:" if warnings else "  warnings: none", *(f"    - {w}" for w in warnings)]
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.2f}"


def format_validation(validation: Validation) -> str:
    """The summary, then one line per case."""
    summary = validation.summary
    if not summary["cases"]:
        return "no case: no category had enough lines with known outcomes in a quarter of the range"
    lines = [
        f"cases {summary['cases']}: P10-P90 coverage {summary['coverage_p10_p90']:.2f} (target 0.70-0.90),"
        f" mean actual/expected {_ratio(summary['mean_actual_over_expected'])} (target 0.85-1.15),"
        f" pooled {_ratio(summary['pooled_actual_over_expected'])}",
        f"  {'category':<10}{'as of':<12}{'lines':>7}{'expected':>10}{'P10':>7}{'P50':>7}{'P90':>7}"
        f"{'actual':>8}  inside",
    ]
    for row in validation.cases.itertuples(index=False):
        lines.append(
            f"  {row.category:<10}{row.as_of:<12}{row.lines:>7.0f}{row.expected_late_lines:>10.1f}"
            f"{row.late_lines_p10:>7.0f}{row.late_lines_p50:>7.0f}{row.late_lines_p90:>7.0f}"
            f"{row.actual_late_lines:>8.0f}  {'yes' if row.inside_p10_p90 else 'no'}"
        )
    lines.append("  per-supplier calibration (bins of expected late lines):")
    for row in validation.calibration.itertuples(index=False):
        lines.append(
            f"    bin {row.bin}: {row.supplier_cases} supplier-quarters, expected {row.mean_expected:.2f},"
            f" actual {row.mean_actual:.2f}"
        )
    return "\n".join(lines)


def save_scenario_result(
    settings: Settings, request: ScenarioRequest, result: ScenarioResult, who: str
) -> str:
    """Save a scenario in the results database; returns its id."""
    from supplierrisk.scenarios.saved import save_scenario

    return save_scenario(settings.results_url, request, result, who)
