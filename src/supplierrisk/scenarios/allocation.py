"""Re-assigning template lines by an allocation: fractional weights of each line per supplier.

A line may be split: moving 30% of a supplier's volume moves 30% of each of its lines, so
shares are met exactly and no line is picked at random. Late lines then count the moved
fractions (0.3 of a line late is 0.3 late lines).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from supplierrisk.scenarios.inputs import Allocation, ScenarioInputError, SupplierOptions
from supplierrisk.scenarios.template import SupplierFacts


@dataclass(frozen=True)
class Placements:
    """Each (template line, supplier) pair either arm uses, with its weight in each arm."""

    pairs: pd.DataFrame  # line (template row), supplier_id, weight_baseline, weight_scenario
    warnings: list[str] = field(default_factory=list)


def line_volume(template: pd.DataFrame) -> np.ndarray:
    """Each line's volume: its value at its own price (0 where unknown), or 1 per line when none has one."""
    value = (template["quantity_ordered"] * template["unit_price"]).to_numpy(dtype=float)
    value = np.where(np.isfinite(value), np.clip(value, 0.0, None), 0.0)
    if value.sum() > 0:
        return value
    return np.ones(len(template))


def check_suppliers(
    allocation: Allocation, options: SupplierOptions, facts: SupplierFacts, template: pd.DataFrame
) -> None:
    """Every supplier named (allocation, options, planned lines) must be in the history by the as-of."""
    named = allocation.suppliers() | options.named() | set(template["supplier_id"].astype(str))
    unknown = sorted(s for s in named if not facts.knows(s))
    if unknown:
        raise ScenarioInputError(f"unknown supplier(s) at the as-of: {', '.join(map(repr, unknown))}")


def allocate(
    template: pd.DataFrame, allocation: Allocation, options: SupplierOptions, facts: SupplierFacts
) -> Placements:
    """The baseline (each line with its supplier) and the scenario's weights, pair by pair."""
    check_suppliers(allocation, options, facts, template)
    current = template["supplier_id"].astype(str).to_numpy()
    n = len(template)
    moves: dict[tuple[int, str], float] = {}
    warnings: list[str] = []
    if allocation.shares is not None:
        moved = _moves_for_shares(template, current, allocation.shares, options, facts, warnings)
    else:
        moved = _moves_for_shifts(template, current, allocation, options, warnings)
    for (line, supplier), weight in moved.items():
        moves[(line, supplier)] = moves.get((line, supplier), 0.0) + weight
    kept = np.ones(n)
    for (line, _), weight in moves.items():
        kept[line] -= weight
    rows = [(i, current[i], 1.0, max(kept[i], 0.0)) for i in range(n)]
    rows += [(line, supplier, 0.0, weight) for (line, supplier), weight in moves.items() if weight > 0]
    pairs = pd.DataFrame(rows, columns=["line", "supplier_id", "weight_baseline", "weight_scenario"])
    pairs = pairs.groupby(["line", "supplier_id"], as_index=False, sort=True).sum()
    return Placements(pairs, warnings)


def _excluded(options: SupplierOptions, supplier: str, item: object) -> bool:
    return str(item) in options.excluded_items.get(supplier, frozenset())


def _moves_for_shares(
    template: pd.DataFrame,
    current: np.ndarray,
    shares: dict[str, float],
    options: SupplierOptions,
    facts: SupplierFacts,
    warnings: list[str],
) -> dict[tuple[int, str], float]:
    """Each loser gives the same fraction of each of its lines; gainers take what they have delivered first.

    Lines are handed out in the template's canonical order. A line's freed volume goes to
    the gaining suppliers that have delivered its item, in proportion to what each still
    has to gain; what they cannot take goes, in a second pass, to any gainer allowed the
    item. So target shares are met exactly and no supplier takes an item it never
    delivered unless the targets need it.
    """
    volume = line_volume(template)
    total = volume.sum()
    now = pd.Series(volume).groupby(current).sum() / total
    leaving = {s: 1.0 - shares.get(s, 0.0) / v for s, v in now.items() if v > shares.get(s, 0.0)}
    remaining = {s: (t - float(now.get(s, 0.0))) * total for s, t in sorted(shares.items())}
    remaining = {s: r for s, r in remaining.items() if r > 1e-12}
    items = (
        template["item_id"].astype(str).to_numpy() if "item_id" in template else np.full(len(template), "")
    )
    moves: dict[tuple[int, str], float] = {}
    pending: list[tuple[int, float]] = []
    gains = dict(remaining)
    for i, supplier in enumerate(current):
        if supplier in leaving and volume[i] <= 0:
            # A line of no value moves by its supplier's fraction, spread as the gains are.
            allowed = {s: g for s, g in gains.items() if not _excluded(options, s, items[i])}
            for s, g in allowed.items():
                moves[(i, s)] = moves.get((i, s), 0.0) + leaving[supplier] * g / sum(allowed.values())
            continue
        if supplier in leaving:
            amount = leaving[supplier] * volume[i]
            qualified = [s for s in remaining if (s, items[i]) in facts.served_items]
            left = _hand_out(i, amount, qualified, remaining, volume, options, items, moves)
            if left > 1e-12:
                pending.append((i, left))
    stuck = sum(
        _hand_out(i, left, list(remaining), remaining, volume, options, items, moves) for i, left in pending
    )
    if stuck > 1e-9 * total:
        warnings.append(
            f"{stuck / total:.1%} of the volume stays with its supplier:"
            " no gaining supplier may take its items"
        )
    return moves


def _hand_out(
    line: int,
    amount: float,
    takers: list[str],
    remaining: dict[str, float],
    volume: np.ndarray,
    options: SupplierOptions,
    items: np.ndarray,
    moves: dict[tuple[int, str], float],
) -> float:
    """Give ``amount`` of ``line``'s volume to ``takers``, each in proportion to its room; the rest."""
    allowed = [s for s in takers if remaining.get(s, 0.0) > 1e-12 and not _excluded(options, s, items[line])]
    room = sum(remaining[s] for s in allowed)
    if room <= 0:
        return amount
    given = min(amount, room)
    for s in allowed:
        part = given * remaining[s] / room
        remaining[s] -= part
        moves[(line, s)] = moves.get((line, s), 0.0) + part / volume[line]
    return amount - given


def _moves_for_shifts(
    template: pd.DataFrame,
    current: np.ndarray,
    allocation: Allocation,
    options: SupplierOptions,
    warnings: list[str],
) -> dict[tuple[int, str], float]:
    items = template["item_id"].to_numpy() if "item_id" in template else np.full(len(template), None)
    moves: dict[tuple[int, str], float] = {}
    present = set(current)
    for shift in allocation.shifts:
        if shift.source not in present:
            warnings.append(f"{shift.source!r} has no line in the template: its shift moves nothing")
            continue
        blocked = 0
        for i in np.flatnonzero(current == shift.source):
            if _excluded(options, shift.target, items[i]):
                blocked += 1
                continue
            moves[(int(i), shift.target)] = moves.get((int(i), shift.target), 0.0) + shift.share
        if blocked:
            warnings.append(
                f"{blocked} line(s) of {shift.source!r} stay: {shift.target!r} may not take their items"
            )
    return moves
