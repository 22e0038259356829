"""The FastAPI application: ``create_app()`` wires settings, auth, limits and routes; nothing loads at import.

Models, the store index and the latest batch load in the lifespan. Every request
takes the current deployment once, so one response never mixes versions; a reload
swaps in a whole new deployment.
"""

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.security import APIKeyHeader
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving import schemas, views
from serving.state import DeploymentHolder, RegistryUnavailableError
from supplierrisk.apikeys import ApiKey, KeyFileError, KeyRing
from supplierrisk.deployment import Deployment
from supplierrisk.settings import Settings

log = logging.getLogger("supplierrisk.serving")
T = TypeVar("T")
INLINE_LINES = 20

API_KEY_HEADER = "X-API-Key"
MODELS_HEADER = "X-Model-Versions"
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": schemas.ErrorBody, "description": "Missing or unknown API key."},
    403: {"model": schemas.ErrorBody, "description": "The key's role may not do this."},
    503: {"model": schemas.ErrorBody, "description": "No champion or no batch loaded yet."},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": schemas.ErrorBody, "description": "Unknown id."}}
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"model": schemas.ErrorBody, "description": "Too many lines or too large a body."}
}


class BodyLimit:
    """Answer 413 for bodies over ``limit`` bytes: by Content-Length, or while streaming in."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting body bytes as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.limit:
                await self._reject(send)
                return
            await self.app(scope, receive, send)
            return
        # No Content-Length (chunked): read at most limit + 1 bytes, then replay them to the app.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.limit:
                await self._reject(send)
                return
            chunks.append(body)
            more = bool(message.get("more_body", False))
        await self.app(scope, _replay(chunks, None, receive), send)

    async def _reject(self, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"request body larger than {self.limit} bytes (SUPPLIERRISK_API_MAX_BODY_BYTES)"},
            status_code=413,
        )
        await response({"type": "http"}, _empty_receive, send)


def _replay(chunks: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """A receive that first gives back a body already read, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if pending is not None:
                return pending
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await receive()

    return replay


class ServerTiming:
    """Add ``Server-Timing: app;dur=<ms>``: time from the request's arrival to the response's start.

    It covers parsing, validation, scoring and serialising the body (a JSON body is
    rendered before its headers are sent), so benchmarks read server time per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and stamp the header on the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={elapsed:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed_send)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


def create_app(settings: Settings | None = None, holder: DeploymentHolder | None = None) -> FastAPI:
    """The service. Settings come from the environment unless given; the holder loads in the lifespan."""
    settings = settings or Settings()
    holder = holder or DeploymentHolder(settings)
    keyring: KeyRing | None = None if settings.api_auth_disabled else KeyRing(settings.keys_path)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if keyring is None:
            log.warning(
                "!!! API AUTH DISABLED (SUPPLIERRISK_API_AUTH_DISABLED): every caller is admin."
                " Development only; never expose this service. !!!"
            )
        elif len(keyring) == 0:
            log.warning("no API keys in %s: create one with 'supplierrisk keys create'", settings.keys_path)
        await anyio.to_thread.run_sync(holder.start)
        poller = asyncio.create_task(_poll(holder, settings.api_poll_seconds))
        try:
            yield
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller

    app = FastAPI(
        title="supplierrisk",
        version="1",
        summary="Supplier risk scores, explanations and category roll-ups for sourcing reviews.",
        description=(
            "Scores PO lines for late delivery (OTD model) and serves the latest batch of supplier"
            " disruption risk, KPIs and category roll-ups. Every endpoint but /health and /ready"
            f" needs an API key in the `{API_KEY_HEADER}` header (role viewer, or admin for reload)."
            f" Responses carry the model versions used in `{MODELS_HEADER}`."
        ),
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, limit=settings.api_max_body_bytes)
    app.add_middleware(ServerTiming)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": list(e.get("loc", ())),
                "field": _field_path(tuple(e.get("loc", ()))),
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)

    header = APIKeyHeader(
        name=API_KEY_HEADER, auto_error=False, description="An API key from 'supplierrisk keys create'."
    )

    def require(role: str) -> Callable[[str | None], Awaitable[ApiKey]]:
        async def check(api_key: Annotated[str | None, Depends(header)]) -> ApiKey:
            if keyring is None:
                return ApiKey(name="auth-disabled", role="admin", sha256="", created_at="")
            if not api_key:
                raise HTTPException(401, f"missing API key: send it in the {API_KEY_HEADER} header")
            try:
                keyring.refresh()
            except KeyFileError as exc:
                log.error("cannot read the keys file: %s", exc)
                raise HTTPException(503, "the API keys file cannot be read; see the service log") from None
            found = keyring.authenticate(api_key)
            if found is None:
                raise HTTPException(401, "unknown or revoked API key")
            if role == "admin" and found.role != "admin":
                raise HTTPException(403, f"key '{found.name}' has role {found.role}; this needs admin")
            return found

        return check

    Viewer = Annotated[ApiKey, Depends(require("viewer"))]
    Admin = Annotated[ApiKey, Depends(require("admin"))]

    async def deployment(response: Response) -> Deployment:
        current = holder.current
        if current is None:
            raise HTTPException(503, "the service is still loading")
        response.headers[MODELS_HEADER] = views.versions_header(current)
        return current

    Current = Annotated[Deployment, Depends(deployment)]

    @app.get("/health", tags=["service"], summary="Liveness: the process answers.")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/ready",
        tags=["service"],
        summary="Readiness: models loaded, versions, batch age, registry reachability.",
        response_model=schemas.Ready,
        responses={503: {"model": schemas.Ready, "description": "No champion loaded."}},
    )
    async def ready(response: Response) -> schemas.Ready:
        body = await offload(views.readiness, holder, keyring is not None)
        if body.status == "not_ready":
            response.status_code = 503
        return body

    @app.get("/v1/models", tags=["models"], response_model=schemas.ModelsResponse, responses=ERRORS)
    async def models(key: Viewer, current: Current) -> schemas.ModelsResponse:
        """Champion and challenger of each model: version, as-of, data window, backtest vs baselines."""
        return views.models(current)

    @app.post(
        "/v1/order-lines/score",
        tags=["scoring"],
        response_model=schemas.ScoreResponse,
        responses={**ERRORS, **TOO_LARGE},
    )
    async def score_lines(body: schemas.ScoreRequest, key: Viewer, current: Current) -> JSONResponse:
        """Late-delivery probability, band and delay quantiles per PO line, with drivers on request.

        Features come from each supplier's history in the store, through the same feature code as
        training, as of `as_of` (default: the store's last day). Limits: `SUPPLIERRISK_API_MAX_LINES`
        lines (default 10,000) and `SUPPLIERRISK_API_MAX_EXPLAINED_LINES` explained lines (1,000).
        """
        if len(body.lines) > settings.api_max_lines:
            raise HTTPException(413, f"{len(body.lines)} lines; at most {settings.api_max_lines} per request")
        if body.explain and len(body.lines) > settings.api_max_explained_lines:
            raise HTTPException(
                413,
                f"drivers for {len(body.lines)} lines; at most {settings.api_max_explained_lines}"
                " per request (drivers are slow): send fewer lines or explain=false",
            )
        if len(body.lines) <= INLINE_LINES and not body.explain:
            # A few milliseconds of work: a thread hop and GIL hand-offs would cost more than they free.
            payload = views.score(current, body)
        else:
            payload = await offload(views.score, current, body)
        return JSONResponse(payload, headers={MODELS_HEADER: views.versions_header(current)})

    @app.get("/v1/suppliers", tags=["suppliers"], response_model=schemas.SupplierPage, responses=ERRORS)
    async def suppliers(
        key: Viewer,
        current: Current,
        category: Annotated[
            str | None, Query(max_length=200, description="Suppliers serving this category.")
        ] = None,
        country: Annotated[
            str | None, Query(max_length=200, description="Supplier country (any case).")
        ] = None,
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

    @app.get(
        "/v1/suppliers/{supplier_id:path}",
        tags=["suppliers"],
        response_model=schemas.SupplierDetail,
        responses={**ERRORS, **NOT_FOUND},
    )
    async def supplier(supplier_id: str, key: Viewer, current: Current) -> schemas.SupplierDetail:
        """One supplier: risk, drivers, KPIs with 90% intervals and trend, open lines, categories."""
        return await offload(views.supplier_detail, current, supplier_id)

    @app.get("/v1/categories", tags=["categories"], response_model=schemas.CategoryPage, responses=ERRORS)
    async def categories(key: Viewer, current: Current) -> schemas.CategoryPage:
        """Every category: KPIs, concentration (HHI, single source), supplier risk, expected late share."""
        return await offload(views.category_page, current)

    @app.get(
        "/v1/categories/{category:path}",
        tags=["categories"],
        response_model=schemas.CategoryDetail,
        responses={**ERRORS, **NOT_FOUND},
    )
    async def category(
        category: str,
        key: Viewer,
        current: Current,
        replacing: Annotated[
            str | None,
            Query(
                max_length=200,
                description="Rank alternatives to this supplier (default: the largest by spend).",
            ),
        ] = None,
    ) -> schemas.CategoryDetail:
        """A category's suppliers with risk and spend share, HHI, single source, and ranked alternatives."""
        return await offload(views.category_detail, current, category, replacing)

    @app.get("/v1/drift", tags=["monitoring"], response_model=schemas.DriftResponse, responses=ERRORS)
    async def drift(key: Viewer, current: Current) -> schemas.DriftResponse:
        """The latest batch's drift summary; `available: false` before the first batch."""
        return views.drift(current)

    @app.get(
        "/v1/drift/report",
        tags=["monitoring"],
        response_class=HTMLResponse,
        responses={**ERRORS, **NOT_FOUND},
    )
    async def drift_report(
        key: Viewer,
        current: Current,
        model: Annotated[
            Literal["otd", "disruption"], Query(description="Whose features: open lines or suppliers.")
        ] = "otd",
    ) -> FileResponse:
        """The Evidently HTML report of the latest batch's features for one model."""
        path = current.batch.drift_html(model) if current.batch is not None else None
        if path is None:
            raise HTTPException(404, f"no {model} drift report yet: run 'supplierrisk score'")
        return FileResponse(path, media_type="text/html")

    @app.post(
        "/v1/admin/reload",
        tags=["admin"],
        response_model=schemas.ReloadResponse,
        responses=ERRORS,
    )
    async def reload(key: Admin) -> schemas.ReloadResponse:
        """Re-read the champions, the store and the latest batch; swap them in atomically."""
        before = holder.current
        try:
            after = await anyio.to_thread.run_sync(holder.reload)
        except RegistryUnavailableError as exc:
            raise HTTPException(503, f"registry unreachable, still serving what was loaded: {exc}") from None
        log.info("reload by key '%s'", key.name)
        return views.reload_body(before, after)

    return app


async def offload(function: Callable[..., T], *args: Any) -> T:
    """Run CPU-bound work in the thread pool: one hop per request, the event loop stays free for others."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args))


async def _poll(holder: DeploymentHolder, seconds: float) -> None:
    """Reload when the registry, LATEST or the store change (every ``seconds``; never when 0)."""
    if seconds <= 0:
        return
    while True:
        await asyncio.sleep(seconds)
        try:
            await anyio.to_thread.run_sync(holder.poll)
        except Exception:  # noqa: BLE001 - the poller must outlive any one failure
            log.exception("polling for changes failed")
