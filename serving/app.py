"""The FastAPI application: ``create_app()`` builds it from settings; nothing loads at import.

Models, the store index and the latest batch load in the lifespan. Every request
takes the current deployment once (``serving.deps.current_deployment``), so one
response never mixes versions; a reload swaps in a whole new deployment. The
routes live in ``serving.routes``, one router per group.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from serving.auth import API_KEY_HEADER
from serving.deps import MODELS_HEADER
from serving.errors import install_error_handlers
from serving.middleware import BodyLimit, ServerTiming
from serving.observability import RequestObserver, metrics_registry
from serving.routes import PAGE_ROUTERS, ROUTERS
from serving.state import DeploymentHolder, RegistryUnavailableError
from serving.ui import UI_PREFIX, WEB, install_workspace
from supplierrisk.service.apikeys import KeyRing
from supplierrisk.settings import Settings

log = logging.getLogger("supplierrisk.serving")

DESCRIPTION = (
    "Scores PO lines for late delivery (OTD model) and serves the latest batch of supplier"
    " disruption risk, KPIs and category roll-ups. Every endpoint but /health and /ready"
    f" needs an API key in the `{API_KEY_HEADER}` header (role viewer, or admin for reload)."
    f" Responses carry the model versions used in `{MODELS_HEADER}`. The category manager's"
    " workspace (HTML pages) is at /ui/."
)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Warn about the key set-up, load the deployment, poll for changes until shutdown."""
    settings: Settings = app.state.settings
    keyring: KeyRing | None = app.state.keyring
    holder: DeploymentHolder = app.state.holder
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


def create_app(settings: Settings | None = None, holder: DeploymentHolder | None = None) -> FastAPI:
    """The service. Settings come from the environment unless given; the holder loads in the lifespan."""
    settings = settings or Settings()
    app = FastAPI(
        title="supplierrisk",
        version="1",
        summary="Supplier risk scores, explanations and category roll-ups for sourcing reviews.",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.holder = holder or DeploymentHolder(settings)
    app.state.keyring = None if settings.api_auth_disabled else KeyRing(settings.keys_path)
    app.state.metrics_registry, metrics = metrics_registry(app.state.holder)
    app.add_middleware(BodyLimit, limit=settings.api_max_body_bytes)
    app.add_middleware(ServerTiming)
    # Outermost, so the count, the time and the log line cover every answer, 413s included.
    app.add_middleware(RequestObserver, metrics=metrics)
    install_error_handlers(app)
    install_workspace(app, settings)
    for router in (*ROUTERS, *PAGE_ROUTERS):
        app.include_router(router)
    app.mount(f"{UI_PREFIX}/static", StaticFiles(directory=WEB / "static"), name="workspace-static")
    return app


# With polling off, a service that started while the registry was down still retries this often.
RECOVERY_SECONDS = 5.0


async def _poll(holder: DeploymentHolder, seconds: float) -> None:
    """Reload when the registry, LATEST or the store change (every ``seconds``).

    With ``seconds`` 0 nothing is polled, except that a service started while the
    registry was down retries every ``RECOVERY_SECONDS`` until its models load.
    """
    while seconds > 0 or holder.needs_recovery:
        await asyncio.sleep(seconds if seconds > 0 else RECOVERY_SECONDS)
        try:
            if seconds > 0:
                await anyio.to_thread.run_sync(holder.poll)
            elif holder.needs_recovery:
                await anyio.to_thread.run_sync(holder.reload)
        except RegistryUnavailableError:
            pass  # still down: counted by the holder, said by /ready
        except Exception:  # noqa: BLE001 - the poller must outlive any one failure
            log.exception("polling for changes failed")
