"""Suppliers of the latest batch: the filtered list and one supplier's page."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from serving import schemas, views
from serving.deps import MODELS_HEADER, Current, Viewer, offload
from serving.errors import ERRORS, NOT_FOUND

router = APIRouter(tags=["suppliers"])


@router.get("/v1/suppliers", response_model=schemas.SupplierPage, responses=ERRORS)
async def suppliers(
    key: Viewer,
    current: Current,
    category: Annotated[
        str | None, Query(max_length=200, description="Suppliers serving this category.")
    ] = None,
    country: Annotated[str | None, Query(max_length=200, description="Supplier country (any case).")] = None,
    min_band: Annotated[schemas.Band | None, Query(description="Only this risk band or higher.")] = None,
    sort: Annotated[
        views.SortKey, Query(description="risk and spend: largest first; otd: worst first.")
    ] = "risk",
    order: Annotated[views.Order | None, Query(description="Override the sort direction.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> schemas.SupplierPage:
    """Active suppliers of the latest batch, filtered, sorted and paged."""
    return await offload(
        views.supplier_page, current, category, country, min_band, sort, order, limit, offset
    )


@router.get(
    "/v1/suppliers/{supplier_id:path}",
    response_model=schemas.SupplierDetail,
    responses={**ERRORS, **NOT_FOUND},
)
async def supplier(supplier_id: str, key: Viewer, current: Current) -> Response:
    """One supplier: risk, drivers, KPIs with 90% intervals and trend, open lines, categories."""
    # A page served before is a lookup: no thread hop for it.
    body = views.known_supplier_detail_json(current, supplier_id)
    if body is None:
        body = await offload(views.supplier_detail_json, current, supplier_id)
    return Response(
        body, media_type="application/json", headers={MODELS_HEADER: views.versions_header(current)}
    )
