"""Weighted 0-100 supplier scorecard on top of the KPI table from ``supplierrisk.kpis``.

A scorecard YAML lists criteria ``{kpi, weight, worst, best}``. Each criterion maps
its KPI linearly from ``worst`` (0 points) to ``best`` (100 points), clipped to
``[0, 100]``; ``best`` may be below ``worst`` for lower-is-better KPIs such as
``reject_ppm``. A supplier's ``score`` is the weighted mean over the criteria whose
KPI is available for that supplier (weights renormalised over those), and
``score_note`` lists the criteria skipped.

- **No score without data.** A group with fewer than ``min_lines`` evaluated OTD
  lines (``otd_lines``) gets ``score = NaN`` and the note ``insufficient data``:
  an empty or thin period is never scored, neither 0 nor 100. A group with no
  available criterion is not scored either.
- **Estimate.** ``estimate: point`` uses each KPI's point value; ``estimate: lower``
  uses the end of its 90% interval that is worse for the supplier (the lower bound
  when higher is better, the upper bound otherwise), so a supplier with few lines
  cannot rank high on luck. KPIs without an interval fall back to the point value
  (said in the note).
- **Definitions come from ``kpis``.** Open lines past their promise count as late,
  open lines not yet due are not judged, and a partial receipt is never counted
  as on time *in full* (OTIF); OTD itself looks at dates only.

Compared with ERPNext's Supplier Scorecard: ERPNext evaluates formula criteria over
per-period variables (a missing variable becomes 0), requires weights summing to
100%, combines period scores with a weighting function, and reports 100 when no
period has been scored; it then maps the score to standings that can warn about
or block RFQs and POs. Here the score is computed for one rolling window at an
as-of date straight from the KPI table, unavailable KPIs are dropped and the
weights renormalised instead of scoring 0, thin data gives no score instead of
100, an interval-aware ``lower`` estimate is available, and there are no
standings or actions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from supplierrisk.kpis import SCORABLE_KPIS
from supplierrisk.yamlfile import read_yaml_mapping


class ScorecardConfigError(ValueError):
    """A scorecard YAML that cannot be used; the message names the file and the bad key."""


class Criterion(BaseModel):
    """One scorecard criterion: a KPI mapped linearly from ``worst`` (0) to ``best`` (100)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kpi: str
    weight: float = Field(ge=0.0, allow_inf_nan=False, strict=True)
    worst: float = Field(allow_inf_nan=False, strict=True)
    best: float = Field(allow_inf_nan=False, strict=True)

    @field_validator("kpi")
    @classmethod
    def _known_kpi(cls, value: str) -> str:
        if value not in SCORABLE_KPIS:
            raise ValueError(f"unknown KPI {value!r}; known: {', '.join(SCORABLE_KPIS)}")
        return value

    @model_validator(mode="after")
    def _distinct_ends(self) -> Criterion:
        if self.worst == self.best:
            raise ValueError(f"worst and best must differ for {self.kpi} (both {self.worst})")
        return self


class ScorecardConfig(BaseModel):
    """Scorecard settings: minimum evaluated lines, estimate to use and weighted criteria."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_lines: int = Field(default=5, ge=1, strict=True)
    estimate: Literal["point", "lower"] = "point"
    criteria: tuple[Criterion, ...]

    @model_validator(mode="after")
    def _check_criteria(self) -> ScorecardConfig:
        # Runs only once every criterion is valid, so these messages stand alone.
        if not self.criteria:
            raise ValueError("criteria: list at least one criterion")
        kpis = [c.kpi for c in self.criteria]
        repeated = sorted({k for k in kpis if kpis.count(k) > 1})
        if repeated:
            raise ValueError(f"criteria: each KPI may appear once; repeated: {', '.join(repeated)}")
        if sum(c.weight for c in self.criteria) <= 0:
            raise ValueError("criteria: at least one criterion needs a positive weight")
        return self


def load_scorecard_config(path: Path | str) -> ScorecardConfig:
    """Read and validate a scorecard YAML; errors name the file and the offending key."""
    path = Path(path)
    data = read_yaml_mapping(path, "scorecard file", ScorecardConfigError)
    try:
        return ScorecardConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())
        raise ScorecardConfigError(f"{path}: {problems}") from None


def score_suppliers(kpi_table: pd.DataFrame, config: ScorecardConfig) -> pd.DataFrame:
    """Return a copy of ``kpi_table`` with ``score`` (0-100, NaN when not scored) and ``score_note``."""
    if "otd_lines" not in kpi_table:
        raise ValueError("the KPI table has no otd_lines column; compute it with supplierrisk.kpis")
    n = len(kpi_table)
    weighted = np.zeros(n)
    weights = np.zeros(n)
    skipped: list[list[str]] = [[] for _ in range(n)]
    point_only: list[str] = []
    for crit in config.criteria:
        if crit.weight == 0:
            continue  # a zero-weight criterion does not take part, so it is not "skipped"
        values, used_point = _criterion_values(kpi_table, crit, config.estimate)
        if used_point:
            point_only.append(crit.kpi)
        available = ~np.isnan(values)
        points = np.clip((values - crit.worst) / (crit.best - crit.worst), 0.0, 1.0) * 100.0
        weighted += np.where(available, points * crit.weight, 0.0)
        weights += np.where(available, crit.weight, 0.0)
        for row in np.flatnonzero(~available):
            skipped[row].append(crit.kpi)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(weights > 0, weighted / weights, np.nan)
    lines = pd.to_numeric(kpi_table["otd_lines"]).fillna(0).to_numpy(dtype=float)
    thin = lines < config.min_lines
    score = np.where(thin, np.nan, score)
    notes = []
    for i in range(n):
        parts = []
        if thin[i]:
            parts.append(f"insufficient data: {int(lines[i])} evaluated lines < min_lines {config.min_lines}")
        elif weights[i] == 0:
            parts.append("no criteria available")
        if skipped[i] and not thin[i]:
            parts.append("skipped (no data): " + ", ".join(skipped[i]))
        if point_only and not thin[i]:
            parts.append("point estimate (no interval): " + ", ".join(point_only))
        notes.append("; ".join(parts))
    out = kpi_table.copy()
    out["score"] = score
    out["score_note"] = pd.Series(notes, index=out.index, dtype=object)
    return out


def _criterion_values(table: pd.DataFrame, crit: Criterion, estimate: str) -> tuple[np.ndarray, bool]:
    """Values to score for ``crit`` and whether the point value stood in for a missing interval."""
    if crit.kpi not in table:
        return np.full(len(table), np.nan), False
    if estimate == "point":
        return pd.to_numeric(table[crit.kpi]).to_numpy(dtype=float), False
    bounds = SCORABLE_KPIS[crit.kpi]
    if bounds is None or not all(b in table for b in bounds):
        return pd.to_numeric(table[crit.kpi]).to_numpy(dtype=float), True
    # The conservative end: lower bound when higher is better, upper bound otherwise.
    column = bounds[0] if crit.best > crit.worst else bounds[1]
    return pd.to_numeric(table[column]).to_numpy(dtype=float), False


def _describe(error: ErrorDetails) -> str:
    """``criteria[2].kpi: unknown KPI 'x'`` from a pydantic error."""
    where = ""
    for part in error["loc"]:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    # Pydantic prefixes custom validator messages; the key path already says where.
    msg = error["msg"].removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg
