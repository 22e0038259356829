"""The category manager's workspace: categories, a category, a supplier, open lines, models, exports."""

import logging
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from serving import pages, scenario_pages
from serving.deps import Current, Holder, offload
from serving.state import RegistryUnavailableError
from serving.ui import UI_PREFIX, User, WebSettings, check_form, render, require_admin, status_bar
from supplierrisk.service import exports
from supplierrisk.service.deployment import Deployment
from supplierrisk.settings import Settings
from supplierrisk.tracking import MODEL_NAMES, connect, promote

log = logging.getLogger("supplierrisk.serving")
router = APIRouter(include_in_schema=False)
Text = Annotated[str | None, Query(max_length=200)]
Sort = Annotated[str | None, Query(max_length=60)]
Order = Annotated[Literal["asc", "desc"] | None, Query()]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
EVIDENTLY_POLICY = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval';"
    " style-src 'unsafe-inline'; img-src data: blob:; font-src data:"
)


async def page_query(sort: Sort = None, order: Order = None, offset: Offset = 0) -> pages.Query:
    """A page's sort column, direction and first row, from its URL."""
    return pages.Query(sort, order, offset)


PageQuery = Annotated[pages.Query, Depends(page_query)]


def render_page(
    request: Request,
    template: str,
    user: Any,
    current: Deployment,
    settings: Settings,
    context: dict[str, Any],
) -> HTMLResponse:
    """A workspace page with its status bar."""
    bar = status_bar(current, settings)
    return render(request, template, {"status_bar": bar, "settings": settings, **context}, user)


@router.get(UI_PREFIX)
async def workspace_root() -> RedirectResponse:
    """The workspace lives at /ui/."""
    return RedirectResponse(f"{UI_PREFIX}/", status_code=307)


@router.get(f"{UI_PREFIX}/", response_class=HTMLResponse)
async def home(
    request: Request,
    user: User,
    current: Current,
    settings: WebSettings,
    query: PageQuery,
) -> HTMLResponse:
    """Every category: spend, OTD with its interval, suppliers, HHI, single source, bands, lines at risk."""
    context = await offload(pages.home, current, query)
    return render_page(request, "home.html", user, current, settings, context)


@router.get(f"{UI_PREFIX}/categories/{{category:path}}", response_class=HTMLResponse)
async def category(
    request: Request,
    category: str,
    user: User,
    current: Current,
    settings: WebSettings,
    query: PageQuery,
    window: Text = None,
    days: Text = None,
    band: Text = None,
) -> HTMLResponse:
    """A category's suppliers side by side, concentration, alternatives, risk and OTD charts."""
    window_days = pages.parse_window(window, days)
    context = await offload(pages.category, current, settings, category, window_days, band or None, query)
    return render_page(request, "category.html", user, current, settings, context)


@router.get(f"{UI_PREFIX}/suppliers/{{supplier_id:path}}", response_class=HTMLResponse)
async def supplier(
    request: Request,
    supplier_id: str,
    user: User,
    current: Current,
    settings: WebSettings,
    query: PageQuery,
) -> HTMLResponse:
    """One supplier: risk and drivers, KPIs, history, trend, open lines, alternatives."""
    context = await offload(pages.supplier, current, supplier_id, query)
    return render_page(request, "supplier.html", user, current, settings, context)


@router.get(f"{UI_PREFIX}/lines", response_class=HTMLResponse)
async def lines(
    request: Request,
    user: User,
    current: Current,
    settings: WebSettings,
    query: PageQuery,
    category: Text = None,
    band: Text = None,
    due: Text = None,
    supplier: Text = None,
) -> HTMLResponse:
    """Open lines at risk across categories, filtered by category, band, due date and supplier."""
    chosen = pages.parse_line_filter(category, band, due, supplier)
    context = await offload(pages.lines, current, chosen, query)
    return render_page(request, "lines.html", user, current, settings, context)


@router.get(f"{UI_PREFIX}/monitoring", response_class=HTMLResponse)
async def monitoring(
    request: Request, user: User, current: Current, settings: WebSettings, message: Text = None
) -> HTMLResponse:
    """Champion and challenger per model against their baselines, drift, feedback; admins promote here."""
    context = {**pages.monitoring(current, settings), "message": message}
    return render_page(request, "monitoring.html", user, current, settings, context)


@router.post(f"{UI_PREFIX}/monitoring/promote")
async def promote_challenger(
    request: Request,
    user: User,
    holder: Holder,
    settings: WebSettings,
    kind: Annotated[Literal["otd", "disruption"], Form()],
    version: Annotated[str, Form(max_length=20, pattern=r"^[0-9]+$")],
    reason: Annotated[str, Form(min_length=3, max_length=500)],
    csrf_token: Annotated[str, Form(max_length=500)] = "",
) -> RedirectResponse:
    """Make the challenger champion, recorded as ``supplierrisk promote`` records it; then reload."""
    check_form(request, user, csrf_token)
    require_admin(user)
    name = MODEL_NAMES[kind]

    def run() -> None:
        promote(connect(settings), name, version, reason, f"{user.key.name} (workspace)")

    try:
        await anyio.to_thread.run_sync(run)
        await anyio.to_thread.run_sync(holder.reload)
    except RegistryUnavailableError as exc:
        raise HTTPException(503, f"promoted, but the reload failed: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - registry errors become one clear sentence
        raise HTTPException(400, f"cannot promote {name} version {version}: {exc}") from None
    log.info("workspace: %s promoted %s version %s (%s)", user.key.name, name, version, reason)
    message = f"{name} version {version} is now champion ({reason})"
    return RedirectResponse(f"{UI_PREFIX}/monitoring?{urlencode({'message': message})}", status_code=303)


@router.get(f"{UI_PREFIX}/monitoring/drift/{{kind}}")
async def drift_report(kind: Literal["otd", "disruption"], user: User, current: Current) -> FileResponse:
    """The batch's Evidently drift page of one model's features."""
    path = current.batch.drift_html(kind) if current.batch is not None else None
    if path is None:
        raise HTTPException(404, f"no {kind} drift report yet: run 'supplierrisk score'")
    # Evidently's page is one file of inline scripts with the data in them: it runs sandboxed, in an
    # origin of its own (no cookies, no access to the workspace), and may load nothing from anywhere.
    return FileResponse(path, media_type="text/html", headers={"Content-Security-Policy": EVIDENTLY_POLICY})


def _export_table(current: Deployment, settings: Settings, params: dict[str, str]) -> tuple[Any, str | None]:
    """The table an export asks for, built as its page builds it, and the scope for the file name."""
    page, name = params.get("page"), params.get("table")
    query = pages.Query(params.get("sort") or None, params.get("order") or None, 0)
    if page == "home" and name == "categories":
        return pages.home(current, query)["categories"], None
    if page == "category" and name in ("suppliers", "alternatives"):
        category = params.get("category") or ""
        window_days = pages.parse_window(params.get("window"), params.get("days"))
        found = pages.category_tables(
            current, settings, category, window_days, params.get("band") or None, query
        )
        return found[name], f"{category}_{window_days}d" + (
            f"_{params['band']}" if params.get("band") else ""
        )
    if page == "supplier" and name in ("open_lines", "categories_served", "alternatives"):
        supplier_id = params.get("supplier") or ""
        return pages.supplier_tables(current, supplier_id, query)[name], supplier_id
    if page == "monitoring":
        found = pages.monitoring(current, settings)["tables"]
        if name in found:
            return found[name], None
    if page == "scenario":
        return scenario_pages.export_table(
            settings.results_url, params.get("id") or "", name or ""
        ), params.get("id")
    if page == "lines" and name == "open_lines":
        chosen = pages.parse_line_filter(
            params.get("category"), params.get("band"), params.get("due"), params.get("supplier")
        )
        return pages.lines_table(current, chosen, query), "filtered" if any(vars(chosen).values()) else None
    raise HTTPException(400, f"no table {name!r} on page {page!r} to export")


@router.get(f"{UI_PREFIX}/export")
async def export(
    request: Request,
    user: User,
    current: Current,
    settings: WebSettings,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",  # noqa: A002
) -> Response:
    """A page's table as CSV or XLSX: the rows the page lists (all pages of them), filters applied."""
    params = {k: v for k, v in request.query_params.items() if len(v) <= 200}
    table, scope = await offload(_export_table, current, settings, params)
    as_of = pages.as_of_of(current)
    subtitle = (
        f"{table.title}, batch as of {as_of.date()} ({current.batch.batch_id if current.batch else ''})"
    )
    body = await offload(exports.render, table, format, subtitle)
    filename = exports.export_name(table, scope, as_of, format)
    return Response(
        body,
        media_type=exports.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
