"""Typed dependencies of the routes: settings, the deployment holder, the current deployment, the caller.

The app keeps its settings, holder and key ring on ``app.state`` (set by
``create_app``); tests replace any of these functions through
``app.dependency_overrides``.
"""

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, HTTPException, Request, Response
from starlette.datastructures import State

from serving import views
from serving.auth import api_key_header, authenticate
from serving.state import DeploymentHolder
from supplierrisk.service.apikeys import ApiKey, KeyRing
from supplierrisk.service.deployment import Deployment
from supplierrisk.settings import Settings

T = TypeVar("T")
MODELS_HEADER = "X-Model-Versions"


def _state(request: Request) -> State:
    return request.app.state


async def get_settings(request: Request) -> Settings:
    """The service's settings."""
    settings: Settings = _state(request).settings
    return settings


async def get_holder(request: Request) -> DeploymentHolder:
    """The holder of the current deployment."""
    holder: DeploymentHolder = _state(request).holder
    return holder


async def get_keyring(request: Request) -> KeyRing | None:
    """The API keys, or None when authentication is switched off."""
    keyring: KeyRing | None = _state(request).keyring
    return keyring


Keys = Annotated[KeyRing | None, Depends(get_keyring)]
ApiKeyValue = Annotated[str | None, Depends(api_key_header)]


async def viewer_key(keyring: Keys, api_key: ApiKeyValue) -> ApiKey:
    """Any valid key."""
    return authenticate(keyring, api_key, "viewer")


async def admin_key(keyring: Keys, api_key: ApiKeyValue) -> ApiKey:
    """A valid key with the admin role."""
    return authenticate(keyring, api_key, "admin")


async def current_deployment(
    response: Response, holder: Annotated[DeploymentHolder, Depends(get_holder)]
) -> Deployment:
    """The deployment for this request, taken once so one response never mixes versions; 503 if loading."""
    current = holder.current
    if current is None:
        raise HTTPException(503, "the service is still loading")
    response.headers[MODELS_HEADER] = views.versions_header(current)
    return current


AppSettings = Annotated[Settings, Depends(get_settings)]
Holder = Annotated[DeploymentHolder, Depends(get_holder)]
Current = Annotated[Deployment, Depends(current_deployment)]
Viewer = Annotated[ApiKey, Depends(viewer_key)]
Admin = Annotated[ApiKey, Depends(admin_key)]


async def offload(function: Callable[..., T], *args: Any) -> T:
    """Run CPU-bound work in the thread pool: one hop per request, the event loop stays free for others."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args))
