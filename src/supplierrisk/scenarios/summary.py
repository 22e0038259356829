"""What a scenario reports: per arm figures, their difference with intervals, and each supplier's part.

Expected late lines are the sum of each placement's late probability times its weight
(exact under the simulation, and monotone in each line's risk); the percentiles come
from the Monte Carlo draws. Late value's CVaR95 is the mean of the worst 5% of runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from supplierrisk.scenarios.inputs import MIN_CONFIDENT_LINES, ScenarioRequest
from supplierrisk.scenarios.simulation import ARMS, Draws, MonteCarloInputs, episode_chance, expected_late
from supplierrisk.scenarios.template import SupplierFacts

PERCENTILES = (10, 50, 90)


@dataclass(frozen=True)
class Summary:
    """The three result blocks and the supplier table."""

    baseline: dict[str, Any]
    scenario: dict[str, Any]
    difference: dict[str, Any]
    suppliers: pd.DataFrame


def hhi_of(spend_by_supplier: pd.Series) -> float:
    """Herfindahl-Hirschman index of spend shares, 0-10000 (as ``supplierrisk.kpis`` reports it)."""
    total = spend_by_supplier.sum()
    if not total > 0:
        return float("nan")
    return float((((spend_by_supplier / total) * 100.0) ** 2).sum())


def cvar(values: np.ndarray, level: float = 0.95) -> float:
    """Mean of the worst ``1 - level`` share of draws (at least one)."""
    worst = max(1, int(np.ceil(len(values) * (1 - level))))
    return float(np.sort(values)[-worst:].mean())


def late_line_percentiles(counts: np.ndarray) -> dict[str, float]:
    """P10, P50 and P90 of late-line draws."""
    values = np.percentile(counts, PERCENTILES)
    return {f"late_lines_p{p}": float(v) for p, v in zip(PERCENTILES, values, strict=True)}


def _arm(
    arm: str, inputs: MonteCarloInputs, draws: Draws, table: pd.DataFrame, lines: float, expected: np.ndarray
) -> dict[str, Any]:
    weight = inputs.weights[arm]
    counts = draws.late_lines[arm]
    expected_late = float(expected @ weight)
    pct = late_line_percentiles(counts)
    used = table.loc[table[f"lines_{arm}"] > 1e-12].set_index("supplier_id")
    shares = used[f"share_{arm}"].dropna()
    return {
        "lines": lines,
        "expected_late_lines": expected_late,
        **pct,
        "otd": 1.0 - expected_late / lines if lines else float("nan"),
        "otd_p10": 1.0 - pct["late_lines_p90"] / lines if lines else float("nan"),
        "otd_p90": 1.0 - pct["late_lines_p10"] / lines if lines else float("nan"),
        "expected_late_value": float(draws.late_value[arm].mean()),
        "cvar95_late_value": cvar(draws.late_value[arm]),
        "expected_days_late": float(draws.days_late[arm].mean()),
        "spend": float(used[f"spend_{arm}"].sum()),
        "hhi": hhi_of(used[f"spend_{arm}"]),
        "single_source": bool(len(used) == 1),
        "top_supplier": shares.idxmax() if len(shares) else None,
        "top_share": float(shares.max()) if len(shares) else float("nan"),
        "suppliers": int(len(used)),
    }


def _difference(baseline: dict[str, Any], scenario: dict[str, Any], draws: Draws) -> dict[str, Any]:
    diff = draws.late_lines["scenario"] - draws.late_lines["baseline"]
    out: dict[str, Any] = {
        key: scenario[key] - baseline[key]
        for key in (
            "expected_late_lines",
            "otd",
            "expected_late_value",
            "cvar95_late_value",
            "expected_days_late",
            "spend",
            "hhi",
            "top_share",
        )
    }
    out.update(late_line_percentiles(diff))
    out["otd_p10"] = -out["late_lines_p90"] / baseline["lines"] if baseline["lines"] else float("nan")
    out["otd_p90"] = -out["late_lines_p10"] / baseline["lines"] if baseline["lines"] else float("nan")
    out["cvar95_late_value"] = scenario["cvar95_late_value"] - baseline["cvar95_late_value"]
    out["price_change"] = out["spend"]
    out["single_source"] = scenario["single_source"] != baseline["single_source"]
    return out


def supplier_table(
    inputs: MonteCarloInputs,
    placed: pd.DataFrame,
    volume: np.ndarray,
    expected: np.ndarray,
    facts: SupplierFacts,
    request: ScenarioRequest,
) -> pd.DataFrame:
    """Per supplier and arm: lines, share, spend, expected late lines and their share, disruption exposure.

    ``share`` is of the volume the allocation moves (value at the lines' own prices, the basis
    of target shares); ``spend_share`` is of spend at the prices paid (moved lines at the new
    supplier's), the basis of the HHI.
    """
    suppliers = sorted(set(placed["supplier_id"]))
    chance = episode_chance(inputs)
    value = inputs.value
    frame = pd.DataFrame({"supplier_id": suppliers})
    frame["supplier_name"] = facts.attributes["supplier_name"].reindex(suppliers).to_numpy()
    for arm in ARMS:
        w = inputs.weights[arm]
        by = pd.DataFrame(
            {
                "s": inputs.supplier,
                "n": w,
                "x": w * volume,
                "v": w * value,
                "e": w * expected,
                "d": w * chance,
            }
        )
        sums = by.groupby("s").sum().reindex(range(len(suppliers)), fill_value=0.0)
        frame[f"lines_{arm}"] = sums["n"].to_numpy()
        moved = sums["x"].sum()
        frame[f"share_{arm}"] = sums["x"].to_numpy() / moved if moved > 0 else np.nan
        frame[f"spend_{arm}"] = sums["v"].to_numpy()
        total = sums["v"].sum()
        frame[f"spend_share_{arm}"] = sums["v"].to_numpy() / total if total > 0 else np.nan
        frame[f"expected_late_lines_{arm}"] = sums["e"].to_numpy()
        late_total = sums["e"].sum()
        frame[f"late_share_{arm}"] = sums["e"].to_numpy() / late_total if late_total > 0 else np.nan
        frame[f"expected_disrupted_lines_{arm}"] = sums["d"].to_numpy()
    frame["p_disruption_horizon"] = inputs.p_disruption
    frame["delivered_lines_365d"] = facts.recent_delivered_lines.reindex(suppliers).fillna(0).to_numpy()
    options = request.options
    frame["time_to_recover_days"] = [options.time_to_recover_days.get(s) for s in suppliers]
    frame["inventory_cover_days"] = [options.inventory_cover_days.get(s) for s in suppliers]
    frame["cover_shorter_than_recovery"] = [
        s in options.time_to_recover_days
        and s in options.inventory_cover_days
        and options.inventory_cover_days[s] < options.time_to_recover_days[s]
        for s in suppliers
    ]
    return frame


def _qualification_warnings(
    inputs: MonteCarloInputs, placed: pd.DataFrame, facts: SupplierFacts, category: str
) -> list[str]:
    """Volume moved to a supplier for an item (or category) it has never delivered."""
    gained = inputs.weights["scenario"] - inputs.weights["baseline"]
    supplier = placed["supplier_id"].astype(str).to_numpy()
    items = placed["item_id"].astype(str).to_numpy() if "item_id" in placed else np.full(len(placed), "")
    new_category = np.array([(s, category) not in facts.served_categories for s in supplier])
    new_item = np.array([(s, i) not in facts.served_items for s, i in zip(supplier, items, strict=True)])
    flagged = pd.DataFrame({"s": supplier, "i": items, "w": gained, "c": new_category, "n": new_item})
    flagged = flagged.loc[(flagged["w"] > 1e-9) & flagged["n"]]
    out = []
    for s, rows in flagged.groupby("s", sort=True):
        if rows["c"].any():
            out.append(
                f"{s} has never delivered in category {category}: {rows['w'].sum():.1f} lines unqualified"
            )
            continue
        names = sorted(set(rows["i"]))
        shown = ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
        lines = rows["w"].sum()
        out.append(f"{s} has never delivered {len(names)} of the items it takes ({shown}): {lines:.1f} lines")
    return out


def _arm_warnings(
    arm: str,
    inputs: MonteCarloInputs,
    placed: pd.DataFrame,
    table: pd.DataFrame,
    facts: SupplierFacts,
    request: ScenarioRequest,
) -> list[str]:
    out = _qualification_warnings(inputs, placed, facts, request.category) if arm == "scenario" else []
    used = table.loc[table[f"lines_{arm}"] > 0]
    thin = used.loc[used["delivered_lines_365d"] < MIN_CONFIDENT_LINES]
    if len(thin):
        named = ", ".join(
            f"{r.supplier_id} ({int(r.delivered_lines_365d)})" for r in thin.head(5).itertuples()
        )
        more = f" and {len(thin) - 5} more" if len(thin) > 5 else ""
        out.append(
            f"{len(thin)} supplier(s) delivered fewer than {MIN_CONFIDENT_LINES} lines in the last year,"
            f" too few for a confident score: {named}{more}"
        )
    for row in used.loc[used["cover_shorter_than_recovery"]].itertuples(index=False):
        out.append(
            f"{row.supplier_id}: inventory cover {row.inventory_cover_days:g} days is shorter than"
            f" its time to recover {row.time_to_recover_days:g} days"
        )
    out += _capacity_warnings(inputs.weights[arm], placed, facts, request)
    return out


def _capacity_warnings(
    weight: np.ndarray, placed: pd.DataFrame, facts: SupplierFacts, request: ScenarioRequest
) -> list[str]:
    out = []
    weeks = placed["order_date"].dt.to_period("W").astype(str).to_numpy()
    for s, multiple in sorted(request.options.capacity_multiple.items()):
        mine = placed["supplier_id"].to_numpy() == s
        if not mine.any():
            continue
        weekly = pd.Series(weight[mine]).groupby(weeks[mine]).sum()
        cap = multiple * float(facts.peak_weekly_lines.get(s, 0.0))
        if weekly.max() > cap + 1e-9:
            out.append(
                f"{s}: {weekly.max():.1f} lines in week {weekly.idxmax()} exceed its capacity cap"
                f" of {cap:.1f}"
                f" ({multiple:g} x its peak weekly lines)"
            )
    return out


def summarise(
    inputs: MonteCarloInputs,
    draws: Draws,
    placed: pd.DataFrame,
    facts: SupplierFacts,
    request: ScenarioRequest,
    warnings: list[str],
    volume: np.ndarray,
) -> Summary:
    """The result blocks of both arms and their difference (see the module docstring).

    ``volume`` is each placement's line volume (``allocation.line_volume`` of its template line).
    """
    expected = expected_late(inputs)
    table = supplier_table(inputs, placed, volume, expected, facts, request)
    lines = float(inputs.weights["baseline"].sum())
    arms = {}
    for arm in ARMS:
        arms[arm] = _arm(arm, inputs, draws, table, lines, expected)
        arms[arm]["warnings"] = _arm_warnings(arm, inputs, placed, table, facts, request)
    arms["scenario"]["warnings"] = [*warnings, *arms["scenario"]["warnings"]]
    difference = _difference(arms["baseline"], arms["scenario"], draws)
    difference["warnings"] = [
        w for w in arms["scenario"]["warnings"] if w not in arms["baseline"]["warnings"]
    ]
    return Summary(arms["baseline"], arms["scenario"], difference, table)
