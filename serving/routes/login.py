"""Workspace login and logout: an API key in a form becomes a signed session cookie."""

import logging
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from serving.auth import authenticate
from serving.deps import Keys
from serving.ui import UI_PREFIX, User, WebSettings, check_form, client_of, render, signer_of
from supplierrisk.service.websession import LOGIN_CSRF_COOKIE, SESSION_COOKIE, LoginThrottle

log = logging.getLogger("supplierrisk.serving")
router = APIRouter(include_in_schema=False)
REASONS = {
    "expired": "Your session has expired: log in again.",
    "invalid": "Your session was not valid: log in again.",
    "revoked": "Your key was revoked or replaced: log in with a current key.",
    "logout": "You are logged out.",
}


def _safe_next(next_url: str | None) -> str:
    """Only a path inside the workspace: never another site (an open redirect)."""
    if next_url and next_url.startswith(f"{UI_PREFIX}/") and not next_url.startswith("//"):
        return next_url
    return f"{UI_PREFIX}/"


def _form(request: Request, next_url: str, message: str, status: int = 200) -> HTMLResponse:
    token = signer_of(request).login_token()
    response = render(
        request,
        "login.html",
        {"login_token": token, "next_url": next_url, "message": message, "status_bar": None},
        None,
        status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict", path=f"{UI_PREFIX}/login"
    )
    return response


@router.get(f"{UI_PREFIX}/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None, reason: str | None = None) -> HTMLResponse:  # noqa: A002
    """The login form."""
    return _form(request, _safe_next(next), REASONS.get(reason or "", ""))


@router.post(f"{UI_PREFIX}/login", response_model=None)
async def login(
    request: Request,
    keyring: Keys,
    settings: WebSettings,
    api_key: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",  # noqa: A002
) -> Response:
    """Check the key as the API does; on success set the session cookie and go on to ``next``."""
    throttle: LoginThrottle = request.app.state.login_throttle
    client = client_of(request)
    wait = throttle.retry_after(client)
    if wait:
        response = _form(request, _safe_next(next), f"Too many failed logins: try again in {wait} s.", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    if not signer_of(request).login_token_valid(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _form(request, _safe_next(next), "The login form expired: try again.", 403)
    try:
        key = authenticate(keyring, api_key, "viewer")
    except HTTPException as exc:
        if exc.status_code != 401:
            raise
        throttle.failed(client)
        log.warning("failed workspace login from %s", client)
        return _form(request, _safe_next(next), "That key is unknown or revoked.", 401)
    # Failures are not forgiven by a success: they age out, so a valid key cannot reset the count.
    cookie, _ = signer_of(request).issue(key)
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=settings.ui_session_minutes * 60,
        httponly=True,
        samesite="strict",
        secure=settings.ui_cookie_secure,
        path=UI_PREFIX,
    )
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path=f"{UI_PREFIX}/login")
    log.info("workspace login by key '%s'", key.name)
    return redirect


@router.post(f"{UI_PREFIX}/logout")
async def logout(
    request: Request, user: User, csrf_token: Annotated[str, Form(max_length=500)] = ""
) -> RedirectResponse:
    """End the session: the cookie is deleted and the login form says so."""
    check_form(request, user, csrf_token)
    response = RedirectResponse(f"{UI_PREFIX}/login?reason=logout", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=UI_PREFIX)
    return response
