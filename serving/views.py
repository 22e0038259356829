"""Response bodies from a deployment: the library does the selecting and scoring, this maps frames to JSON."""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any, Literal

import numpy as np
import orjson
import pandas as pd
from fastapi import HTTPException

from serving import schemas
from supplierrisk.modeling.scoring import score_new_line_columns
from supplierrisk.scenarios import (
    Allocation,
    DispersionMissingError,
    ScenarioInputError,
    ScenarioRequest,
    Shift,
    SupplierOptions,
)
from supplierrisk.scenarios.saved import ScenarioNotFoundError, load_scenario, save_scenario
from supplierrisk.schema import POST_OUTCOME_FIELDS, record_columns
from supplierrisk.service.deployment import Deployment
from supplierrisk.service.scenarios import ScenarioUnavailableError, run_for
from supplierrisk.service.sourcing import (
    NotFoundError,
    category_view,
    filter_suppliers,
    page,
    sort_suppliers,
    supplier_view,
)

SortKey = Literal["risk", "spend", "otd"]
Order = Literal["asc", "desc"]


def versions_header(current: Deployment) -> str:
    """``otd=3, disruption=2`` (``none`` when nothing is loaded)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(current.versions.items())) or "none"


def _value(value: Any) -> Any:
    """A plain JSON value: numpy scalars unwrapped, NaN/NaT/None as None."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _int(value: Any) -> int | None:
    plain = _value(value)
    return None if plain is None else int(plain)


def _interval(row: pd.Series, name: str, lines: str | None = None) -> schemas.Interval:
    return schemas.Interval(
        value=_value(row.get(name)),
        lo=_value(row.get(f"{name}_lo")),
        hi=_value(row.get(f"{name}_hi")),
        lines=_int(row.get(lines)) if lines else None,
    )


def _batch(current: Deployment) -> schemas.BatchRef:
    if current.batch is None:
        raise HTTPException(
            503, "no batch published yet: run 'supplierrisk score' (the scheduler's nightly job)"
        )
    return schemas.BatchRef(batch_id=current.batch.batch_id, as_of=current.batch.as_of.date())


def _tables(current: Deployment) -> dict[str, pd.DataFrame]:
    _batch(current)
    assert current.batch is not None  # noqa: S101 - checked by _batch
    return current.batch.tables


def readiness(holder: Any, auth: bool) -> schemas.Ready:
    """Ready when a champion is loaded; degraded when the registry stopped answering or a part is missing."""
    current: Deployment | None = holder.current
    reachable = holder.registry_reachable()
    if current is None:
        return schemas.Ready(
            status="not_ready",
            models={},
            batch=None,
            batch_age_days=None,
            history_as_of=None,
            loaded_at="",
            registry_reachable=reachable,
            auth="keys" if auth else "disabled",
            problems=["loading"],
        )
    batch = None
    age = None
    if current.batch is not None:
        batch = schemas.BatchRef(batch_id=current.batch.batch_id, as_of=current.batch.as_of.date())
        age = (pd.Timestamp.now().normalize() - current.batch.as_of.normalize()).days
    problems = list(current.problems)
    if not reachable:
        problems.append(f"registry unreachable, serving what was loaded: {holder.registry_error}")
    if holder.load_error:
        problems.append(holder.load_error)
    if not current.models:
        status: Literal["ready", "degraded", "not_ready"] = "not_ready"
    elif problems:
        status = "degraded"
    else:
        status = "ready"
    return schemas.Ready(
        status=status,
        models=current.versions,
        batch=batch,
        batch_age_days=age,
        history_as_of=current.store.at.as_of.date() if current.store else None,
        loaded_at=current.loaded_at.isoformat(timespec="seconds"),
        registry_reachable=reachable,
        auth="keys" if auth else "disabled",
        problems=problems,
    )


def models(current: Deployment) -> schemas.ModelsResponse:
    """Champion and challenger cards of each model as read at the last load."""
    return schemas.ModelsResponse(
        models={
            kind: {
                alias: schemas.ModelInfo.model_validate(card, from_attributes=True)
                for alias, card in cards.items()
            }
            for kind, cards in current.cards.items()
        },
        loaded=current.versions,
    )


def _request_columns(body: schemas.ScoreRequest) -> dict[str, np.ndarray]:
    # Outcomes are never features: read as absent, so nothing downstream can use them by mistake.
    return record_columns(body.lines, absent=POST_OUTCOME_FIELDS)


def score(current: Deployment, body: schemas.ScoreRequest) -> dict[str, Any]:
    """Score the request's lines with the OTD champion as of the request's (or the store's) day.

    Returns the ``ScoreResponse`` body as plain values, built column by column: at 1,000
    lines a pydantic object per line would cost more than the model itself. Floats may be
    NaN: ``score_json`` writes them as null. The tests validate these bodies against
    ``ScoreResponse``.
    """
    loaded = current.models.get("otd")
    if loaded is None:
        raise HTTPException(503, "no OTD champion loaded: train and promote one, then POST /v1/admin/reload")
    if current.store is None:
        raise HTTPException(503, "no history loaded: ingest PO lines, then POST /v1/admin/reload")
    at = current.store.at
    as_of = at.as_of if body.as_of is None else pd.Timestamp(body.as_of)
    if as_of > at.as_of:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["body", "as_of"],
                    "field": "as_of",
                    "msg": f"as_of {as_of.date()} is after the history's last day {at.as_of.date()}",
                    "type": "value_error",
                }
            ],
        )
    lines = _request_columns(body)
    scored = score_new_line_columns(
        loaded.model, at, lines, as_of, explain=body.explain, top=body.top_drivers, unseen=True
    )
    rows_by_supplier = current.store.rows_by_supplier
    columns: dict[str, list[Any]] = {
        "po_id": scored["po_id"].tolist(),
        "line_id": scored["line_id"].tolist(),
        "supplier_id": scored["supplier_id"].tolist(),
        "p_late": np.asarray(scored["p_late"], dtype=float).tolist(),
        "risk_band": scored["risk_band"].tolist(),
        **{name: np.asarray(scored[name], dtype=float).tolist() for name in DELAY_COLUMNS},
        "known_supplier": [supplier in rows_by_supplier for supplier in lines["supplier_id"]],
        "unseen_values": scored["unseen_values"].tolist(),
        "drivers": [[_driver(d).model_dump() for d in row] for row in scored["drivers"]]
        if body.explain
        else [None] * len(lines["supplier_id"]),
    }
    names = list(columns)
    return {
        "model": {"name": loaded.card.name, "version": loaded.card.version},
        "as_of": as_of.date().isoformat(),
        "history_as_of": at.as_of.date().isoformat(),
        "lines": [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)],
    }


def score_json(current: Deployment, body: schemas.ScoreRequest) -> bytes:
    """``score``'s body as JSON bytes, NaN as null (orjson: no per-value Python, and its default for NaN)."""
    return orjson.dumps(score(current, body))


DELAY_COLUMNS = ("delay_p50_days", "delay_p90_days", "delay_if_late_p50_days", "delay_if_late_p90_days")


def _driver(driver: dict[str, Any]) -> schemas.Driver:
    value = _value(driver.get("value"))
    return schemas.Driver(
        feature=str(driver["feature"]),
        value=value if isinstance(value, float | str) or value is None else float(value),
        contribution=float(driver["contribution"]),
        direction=driver["direction"],
        text=str(driver["text"]),
    )


def _supplier_kpis(row: pd.Series) -> schemas.SupplierKpis:
    return schemas.SupplierKpis(
        otd_rate=_interval(row, "otd_rate", "otd_lines"),
        otif_rate=_interval(row, "otif_rate"),
        fill_rate=_interval(row, "fill_rate"),
        lead_time_mean_days=_value(row.get("lead_time_mean_days")),
        lead_time_p90_days=_value(row.get("lead_time_p90_days")),
        days_late_mean=_value(row.get("days_late_mean")),
        spend=_value(row.get("spend")),
        spend_share=_value(row.get("spend_share")),
        open_lines=_int(row.get("open_lines")),
        overdue_lines=_int(row.get("overdue_lines")),
    )


def _summary_fields(row: pd.Series) -> dict[str, Any]:
    return {
        "supplier_id": str(row["supplier_id"]),
        "main_category": _value(row.get("main_category")),
        "supplier_country": _value(row.get("supplier_country")),
        "p_disruption": float(row["p_disruption"]),
        "risk_score": int(row["risk_score"]),
        "risk_band": row["risk_band"],
        "expected_late_share_open": _value(row.get("expected_late_share_open")),
        "open_lines_scored": _int(row.get("open_lines_scored")) or 0,
        "kpis": _supplier_kpis(row),
    }


def supplier_page(
    current: Deployment,
    category: str | None,
    country: str | None,
    min_band: str | None,
    sort: str,
    order: str | None,
    limit: int,
    offset: int,
) -> schemas.SupplierPage:
    """Filtered, sorted, paged suppliers of the latest batch."""
    tables = _tables(current)
    chosen = filter_suppliers(tables["suppliers"], tables["supplier_categories"], category, country, min_band)
    ranked = sort_suppliers(chosen, sort, None if order is None else order == "desc")
    items = [
        schemas.SupplierSummary(**_summary_fields(row)) for _, row in page(ranked, limit, offset).iterrows()
    ]
    return schemas.SupplierPage(
        batch=_batch(current),
        models=current.versions,
        total=len(ranked),
        limit=limit,
        offset=offset,
        items=items,
    )


def supplier_detail_json(current: Deployment, supplier_id: str) -> bytes:
    """The supplier page as JSON, built and serialised once per deployment (it reads nothing else)."""
    return current.memo(
        ("supplier_detail_json", supplier_id),
        lambda: supplier_detail(current, supplier_id).model_dump_json().encode(),
    )


def known_supplier_detail_json(current: Deployment, supplier_id: str) -> bytes | None:
    """``supplier_detail_json`` when this deployment already built it, else None."""
    found: bytes | None = current.memoized(("supplier_detail_json", supplier_id))
    return found


def supplier_detail(current: Deployment, supplier_id: str) -> schemas.SupplierDetail:
    """The full supplier page."""
    tables = _tables(current)
    try:
        view = supplier_view(tables, supplier_id)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    assert current.batch is not None  # noqa: S101 - _tables checked it
    trend = [
        schemas.QuarterKpis(
            quarter=row["quarter"],
            quarter_end=date.fromisoformat(row["quarter_end"]),
            otd_rate=_interval(row, "otd_rate", "otd_lines"),
            otif_rate=_interval(row, "otif_rate", "otif_lines"),
            fill_rate=_interval(row, "fill_rate", "fill_lines"),
            lead_time_mean_days=_value(row.get("lead_time_mean_days")),
        )
        for _, row in current.kpi_trend.get(supplier_id, pd.DataFrame()).iterrows()
    ]
    drivers = json.loads(view.risk.get("drivers_json") or "[]")
    return schemas.SupplierDetail(
        **_summary_fields(view.risk),
        batch=_batch(current),
        models=current.versions,
        recent_change=_value(view.risk.get("recent_change")),
        drivers=[_driver(d) for d in drivers],
        kpi_trend=trend,
        open_lines=[
            schemas.OpenLine(
                po_id=str(row["po_id"]),
                line_id=_value(row.get("line_id")),
                category=_value(row.get("category")),
                promised_date=None
                if pd.isna(row.get("promised_date"))
                else pd.Timestamp(row["promised_date"]).date(),
                open_value=_value(row.get("open_value")),
                p_late=float(row["p_late"]),
                risk_band=row["risk_band"],
                delay_p50_days=_value(row.get("delay_p50_days")),
                delay_p90_days=_value(row.get("delay_p90_days")),
            )
            for _, row in view.open_lines.iterrows()
        ],
        categories=[
            schemas.CategoryShare(
                category=str(row["category"]),
                spend=_value(row.get("spend")),
                share_of_category_spend=_value(row.get("share_of_category_spend")),
                share_of_supplier_spend=_value(row.get("share_of_supplier_spend")),
                otd_rate=_interval(row, "otd_rate", "otd_lines"),
            )
            for _, row in view.categories.iterrows()
        ],
    )


def _category_fields(row: pd.Series) -> dict[str, Any]:
    return {
        "category": str(row["category"]),
        "otd_rate": _interval(row, "otd_rate", "otd_lines"),
        "spend": _value(row.get("spend")),
        "spend_share": _value(row.get("spend_share")),
        "n_suppliers": _int(row.get("n_suppliers")) or 0,
        "hhi": _value(row.get("hhi")),
        "single_source": bool(row.get("single_source")),
        "open_lines": _int(row.get("open_lines")),
        "expected_late_share_open": _value(row.get("expected_late_share_open")),
        "suppliers_high_risk": _int(row.get("suppliers_high_risk")),
        "mean_p_disruption": _value(row.get("mean_p_disruption")),
    }


def category_page(current: Deployment) -> schemas.CategoryPage:
    """Every category of the latest batch."""
    tables = _tables(current)
    return schemas.CategoryPage(
        batch=_batch(current),
        models=current.versions,
        items=[
            schemas.CategorySummary(**_category_fields(row)) for _, row in tables["categories"].iterrows()
        ],
        notes=current.batch.notes if current.batch is not None else [],
    )


def _category_supplier(row: pd.Series) -> schemas.CategorySupplier:
    return schemas.CategorySupplier(
        supplier_id=str(row["supplier_id"]),
        spend=_value(row.get("spend")),
        spend_share=_value(row.get("spend_share")),
        otd_rate=_interval(row, "otd_rate", "otd_lines"),
        p_disruption=_value(row.get("p_disruption")),
        risk_score=_int(row.get("risk_score")),
        risk_band=_value(row.get("risk_band")),
    )


def category_detail(current: Deployment, category: str, replacing: str | None) -> schemas.CategoryDetail:
    """A category's roll-up, suppliers and alternatives."""
    tables = _tables(current)
    try:
        view = category_view(tables, category, replacing)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    return schemas.CategoryDetail(
        **_category_fields(view.summary),
        batch=_batch(current),
        models=current.versions,
        suppliers=[_category_supplier(row) for _, row in view.suppliers.iterrows()],
        replacing=view.replacing,
        alternatives=[_category_supplier(row) for _, row in view.alternatives.iterrows()],
    )


def drift(current: Deployment) -> schemas.DriftResponse:
    """The drift summary of the loaded batch, or the empty state."""
    if current.batch is None or current.batch.drift is None:
        return schemas.DriftResponse(available=False, batch=None, summary=None)
    return schemas.DriftResponse(
        available=True, batch=_batch(current), summary=_json_safe(current.batch.drift)
    )


def _json_safe(value: Any) -> Any:
    """NaN and infinities (which JSON lacks) as None, recursively."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def reload_body(before: Deployment | None, after: Deployment) -> schemas.ReloadResponse:
    """What the reload changed."""
    batch = None
    if after.batch is not None:
        batch = schemas.BatchRef(batch_id=after.batch.batch_id, as_of=after.batch.as_of.date())
    old_batch = before.batch.batch_id if before is not None and before.batch is not None else None
    changed = (
        before is None
        or before.versions != after.versions
        or old_batch != (batch.batch_id if batch else None)
    )
    return schemas.ReloadResponse(
        changed=changed, models=after.versions, batch=batch, problems=after.problems
    )


def scenario_request(body: schemas.ScenarioRequestBody) -> ScenarioRequest:
    """The library's request for an API body (its checks raise ``ScenarioInputError``)."""
    planned = (
        pd.DataFrame([p.model_dump() for p in body.planned]).dropna(axis=1, how="all")
        if body.planned
        else None
    )
    allocation = Allocation(
        shares=body.shares,
        shifts=tuple(Shift(s.source, s.target, s.share) for s in body.shifts or []),
    )
    return ScenarioRequest(
        category=body.category,
        allocation=allocation,
        as_of=pd.Timestamp(body.as_of) if body.as_of is not None else None,
        horizon_days=body.horizon_days,
        runs=body.runs,
        seed=body.seed,
        planned=planned,
        options=SupplierOptions(
            capacity_multiple=body.capacity_multiple,
            time_to_recover_days=body.time_to_recover_days,
            inventory_cover_days=body.inventory_cover_days,
            excluded_items={s: frozenset(items) for s, items in body.excluded_items.items()},
        ),
    )


def scenario(
    current: Deployment, body: schemas.ScenarioRequestBody, results_url: str, who: str
) -> dict[str, Any]:
    """Run (and, when asked, save) a scenario; bad inputs are a 422, a missing model a 503."""
    try:
        request = scenario_request(body)
        result = run_for(current, request)
    except (ScenarioUnavailableError, DispersionMissingError) as exc:
        raise HTTPException(503, str(exc)) from None
    except ScenarioInputError as exc:
        raise HTTPException(422, str(exc)) from None
    payload: dict[str, Any] = result.to_dict()
    if body.save:
        payload["id"] = save_scenario(results_url, request, result, who)
    return payload


def saved_scenario(results_url: str, identifier: str) -> dict[str, Any]:
    """A saved scenario by id, or 404."""
    try:
        return load_scenario(results_url, identifier)
    except ScenarioNotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
