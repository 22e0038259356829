"""The workspace's plumbing: templates, who is logged in, CSRF, security headers, and cell formatting.

Pages accept a session cookie (from ``/ui/login``) or the ``X-API-Key`` header. A page
request without a usable session is redirected to the login form, saying why
(expired, invalid, revoked); a state-changing form must carry the session's CSRF token.
"""

from __future__ import annotations

import functools
import logging
import math
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

import numpy as np
import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.auth import AUTH_DISABLED_KEY, authenticate
from serving.deps import ApiKeyValue, Keys, get_settings
from supplierrisk.service.apikeys import ApiKey, KeyRing
from supplierrisk.service.deployment import Deployment
from supplierrisk.service.websession import (
    SECRET_FILE,
    SESSION_COOKIE,
    LoginThrottle,
    Session,
    SessionError,
    SessionSigner,
    csrf_valid,
    load_or_create_secret,
    session_key,
)
from supplierrisk.service.workspace import Column
from supplierrisk.settings import Settings

log = logging.getLogger("supplierrisk.serving")
WEB = Path(__file__).parent / "web"
UI_PREFIX: Final = "/ui"
# Vega compiles its expressions with Function(), hence 'unsafe-eval'; everything comes from this host.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


class LoginRequiredError(Exception):
    """A page needs a login; ``reason`` says why the session (if any) was not accepted."""

    def __init__(self, reason: str, next_url: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.next_url = next_url


@dataclass(frozen=True)
class WebUser:
    """Who is looking: their key, and the session when they came with a cookie."""

    key: ApiKey
    session: Session | None
    csrf: str

    @property
    def is_admin(self) -> bool:
        """True for admin keys."""
        return self.key.role == "admin"


def install_workspace(app: FastAPI, settings: Settings) -> None:
    """Templates, the session signer, the login throttle, the error handlers and the header middleware."""
    secret = (
        settings.ui_session_secret.get_secret_value()
        if settings.ui_session_secret is not None
        else load_or_create_secret(settings.home / SECRET_FILE)
    )
    app.state.signer = SessionSigner(secret, settings.ui_session_minutes * 60)
    app.state.login_throttle = LoginThrottle(settings.ui_login_attempts, settings.ui_login_window_seconds)
    templates = Jinja2Templates(directory=WEB / "templates")
    templates.env.globals.update(cell=cell, with_query=with_query, quote_path=quote_path)
    app.state.templates = templates
    app.add_exception_handler(LoginRequiredError, _to_login)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(SecurityHeaders)


def templates_of(request: Request) -> Jinja2Templates:
    """The app's Jinja2 templates (autoescaping HTML)."""
    templates: Jinja2Templates = request.app.state.templates
    return templates


def signer_of(request: Request) -> SessionSigner:
    """The app's session signer."""
    signer: SessionSigner = request.app.state.signer
    return signer


async def web_user(request: Request, keyring: Keys, api_key: ApiKeyValue) -> WebUser:
    """The caller, by the key header or the session cookie; else a redirect to the login form."""
    if api_key:
        return WebUser(_throttled_key(request, keyring, api_key), None, "")
    next_url = raw_path(request) + (f"?{request.url.query}" if request.url.query else "")
    cookie = request.cookies.get(SESSION_COOKIE)
    if keyring is None:
        return WebUser(AUTH_DISABLED_KEY, None, "")
    if not cookie:
        raise LoginRequiredError("login", next_url)
    try:
        session = signer_of(request).verify(cookie)
    except SessionError as exc:
        if exc.reason == "invalid":
            log.warning("refused a workspace session cookie from %s: %s", client_of(request), exc)
        raise LoginRequiredError(exc.reason, next_url) from None
    keyring.refresh()
    key = session_key(session, keyring.keys)
    if key is None:
        raise LoginRequiredError("revoked", next_url)
    return WebUser(key, session, session.csrf)


def _throttled_key(request: Request, keyring: KeyRing | None, api_key: str) -> ApiKey:
    """The header's key, with its failures counted as failed logins (so pages cannot be used to guess)."""
    throttle: LoginThrottle = request.app.state.login_throttle
    client = client_of(request)
    wait = throttle.retry_after(client)
    if wait:
        raise HTTPException(429, f"too many failed logins: try again in {wait} s", {"Retry-After": str(wait)})
    try:
        return authenticate(keyring, api_key, "viewer")
    except HTTPException as exc:
        if exc.status_code == 401:
            throttle.failed(client)
        raise


def raw_path(request: Request) -> str:
    """The request's path as sent, still percent-encoded (an id may itself contain ``%2F`` or ``%25``)."""
    raw = request.scope.get("raw_path")
    return raw.decode("ascii", "replace") if raw else quote(request.url.path, safe="/")


User = Annotated[WebUser, Depends(web_user)]
WebSettings = Annotated[Settings, Depends(get_settings)]


def require_admin(user: WebUser) -> None:
    """403 unless the user's key is an admin key."""
    if not user.is_admin:
        raise HTTPException(403, f"key '{user.key.name}' has role {user.key.role}; this needs admin")


def check_form(request: Request, user: WebUser, token: str | None) -> None:
    """403 unless a state-changing form came from this site with the session's CSRF token."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise HTTPException(403, f"form posted from another site ({origin})")
    if user.session is None:
        return  # the key header is not sent by browsers on their own: no cross-site forgery
    if not csrf_valid(user.session, token):
        raise HTTPException(403, "the form's CSRF token is missing or wrong: reload the page and try again")


def client_of(request: Request) -> str:
    """The client address login throttling and the log name."""
    return request.client.host if request.client else "unknown"


async def _to_login(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequiredError)  # noqa: S101 - registered for this type only
    query = urlencode({"next": exc.next_url, **({"reason": exc.reason} if exc.reason != "login" else {})})
    response = RedirectResponse(f"{UI_PREFIX}/login?{query}", status_code=303)
    if exc.reason != "login":
        response.delete_cookie(SESSION_COOKIE, path=UI_PREFIX)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    """HTML error pages under /ui, the API's JSON bodies elsewhere."""
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
    headers = getattr(exc, "headers", None)
    if not request.url.path.startswith(UI_PREFIX):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
    return templates_of(request).TemplateResponse(
        request,
        "error.html",
        {"status": exc.status_code, "message": str(exc.detail), "user": None, "status_bar": None},
        status_code=exc.status_code,
        headers=headers,
    )


class SecurityHeaders:
    """Content-Security-Policy and friends on every workspace response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stamp the headers on responses under /ui."""
        if scope["type"] != "http" or not scope["path"].startswith(UI_PREFIX):
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"content-security-policy" for name, _ in headers):
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if not scope["path"].startswith(f"{UI_PREFIX}/static"):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, stamped)


def render(
    request: Request, template: str, context: dict[str, Any], user: WebUser | None, status: int = 200
) -> HTMLResponse:
    """A page with the common context (user, CSRF token)."""
    response: HTMLResponse = templates_of(request).TemplateResponse(
        request, template, {"user": user, **context}, status_code=status
    )
    return response


@dataclass(frozen=True)
class StatusBar:
    """The batch and model state every page shows: never hidden when stale or drifting."""

    batch_id: str | None
    as_of: str | None
    age_days: int | None
    stale: bool
    drift_alert: bool
    versions: dict[str, str]
    problems: list[str]


def status_bar(current: Deployment, settings: Settings) -> StatusBar:
    """What the banner of every page says about ``current``."""
    batch = current.batch
    if batch is None:
        return StatusBar(None, None, None, True, False, current.versions, list(current.problems))
    age = (pd.Timestamp.now().normalize() - batch.as_of.normalize()).days
    alert = bool(batch.drift and batch.drift.get("alert"))
    return StatusBar(
        batch.batch_id,
        batch.as_of.date().isoformat(),
        age,
        age > settings.ui_stale_batch_days,
        alert,
        current.versions,
        list(current.problems),
    )


def with_query(request: Request, **changes: Any) -> str:
    """The page's URL with query parameters changed (a None value removes one)."""
    params = dict(request.query_params)
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = str(value)
    query = urlencode(params)
    return raw_path(request) + (f"?{query}" if query else "")


def quote_path(value: object) -> str:
    """``value`` escaped for use as one URL path segment."""
    return quote(str(value), safe="")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NaT or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _text(column: Column, value: Any, row: Any) -> str:
    formats = {
        "pct": lambda v: _pct(float(v)),
        "money": lambda v: f"{float(v):,.0f}",
        "metric": lambda v: f"{float(v):.4f}",
        "days": lambda v: f"{float(v):.1f}",
        "number": lambda v: f"{int(v):,}" if float(v).is_integer() else f"{float(v):,.2f}",
        "index": lambda v: f"{float(v):,.0f}",
        "score": lambda v: f"{int(v)}",
        "flag": lambda v: "yes" if v else "no",
        "date": lambda v: pd.Timestamp(v).date().isoformat(),
    }
    if column.kind == "interval":
        lo, hi = _plain(row.get(f"{column.key}_lo")), _plain(row.get(f"{column.key}_hi"))
        bounds = f" [{_pct(float(lo))}–{_pct(float(hi))}]" if lo is not None and hi is not None else ""
        return _pct(float(value)) + bounds
    return formats.get(column.kind, str)(value)


@functools.cache
def _fields(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


def cell(column: Column, row: Any) -> Markup:
    """One table cell's content, escaped: a value, a link, a band badge, or "insufficient data (n lines)"."""
    value = _plain(row.get(column.key))
    if value is None:
        if column.count is not None:
            lines = _plain(row.get(column.count)) or 0
            return Markup('<span class="insufficient">insufficient data ({} lines)</span>').format(int(lines))
        return Markup('<span class="missing">–</span>')
    text = _text(column, value, row)
    if column.kind == "link" and column.link is not None:
        href = column.link.format(
            **{name: quote_path(_plain(row.get(name))) for name in _fields(column.link)}
        )
        return Markup('<a href="{}">{}</a>').format(href, text)
    if column.kind == "band":
        return Markup('<span class="band band-{}">{}</span>').format(text, text)
    return Markup("{}").format(text)
