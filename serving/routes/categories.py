"""Categories of the latest batch: all of them, and one with its suppliers and alternatives."""

from typing import Annotated

from fastapi import APIRouter, Query

from serving import schemas, views
from serving.deps import Current, Viewer, offload
from serving.errors import ERRORS, NOT_FOUND

router = APIRouter(tags=["categories"])


@router.get("/v1/categories", response_model=schemas.CategoryPage, responses=ERRORS)
async def categories(key: Viewer, current: Current) -> schemas.CategoryPage:
    """Every category: KPIs, concentration (HHI, single source), supplier risk, expected late share."""
    return await offload(views.category_page, current)


@router.get(
    "/v1/categories/{category:path}", response_model=schemas.CategoryDetail, responses={**ERRORS, **NOT_FOUND}
)
async def category(
    category: str,
    key: Viewer,
    current: Current,
    replacing: Annotated[
        str | None,
        Query(
            max_length=200, description="Rank alternatives to this supplier (default: the largest by spend)."
        ),
    ] = None,
) -> schemas.CategoryDetail:
    """A category's suppliers with risk and spend share, HHI, single source, and ranked alternatives."""
    return await offload(views.category_detail, current, category, replacing)
