"""Administration: reload the deployment."""

import logging

import anyio
from fastapi import APIRouter, HTTPException

from serving import schemas, views
from serving.deps import Admin, Holder
from serving.errors import ERRORS
from serving.state import RegistryUnavailableError

log = logging.getLogger("supplierrisk.serving")
router = APIRouter(tags=["admin"])


@router.post("/v1/admin/reload", response_model=schemas.ReloadResponse, responses=ERRORS)
async def reload(key: Admin, holder: Holder) -> schemas.ReloadResponse:
    """Re-read the champions, the store and the latest batch; swap them in atomically."""
    before = holder.current
    try:
        after = await anyio.to_thread.run_sync(holder.reload)
    except RegistryUnavailableError as exc:
        if holder.load_error:  # the registry answered; the new models did not load
            raise HTTPException(503, f"reload failed, still serving what was loaded: {exc}") from None
        raise HTTPException(503, f"registry unreachable, still serving what was loaded: {exc}") from None
    log.info("reload by key '%s'", key.name)
    return views.reload_body(before, after)
