"""Workspace sessions: signed cookies carrying who logged in, CSRF tokens, and login throttling.

A login turns an API key into a session cookie. The cookie holds the key's name, a
fingerprint of its hash, its role, a CSRF nonce and when it was issued, signed with
HMAC-SHA256 (``itsdangerous``): it is readable but cannot be altered or forged
without the secret. It never holds the key. Each request checks the signature and
age, then looks the key up again, so revoking a key ends its sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from supplierrisk.service.apikeys import ApiKey

SESSION_COOKIE: Final = "sr_session"
LOGIN_CSRF_COOKIE: Final = "sr_login_csrf"
SECRET_FILE: Final = "ui_session.key"  # noqa: S105 - a file name, not a secret
_SALT_SESSION: Final = "supplierrisk.ui.session"
_SALT_LOGIN: Final = "supplierrisk.ui.login"
# Enough of the key's SHA-256 to tell keys apart; the rest stays in the keys file.
_FINGERPRINT_CHARS: Final = 16


class SessionError(ValueError):
    """A session cookie that cannot be used; ``reason`` is ``expired`` or ``invalid``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Session:
    """A verified session: whose key, which role, and the nonce its forms must carry."""

    key_name: str
    fingerprint: str
    role: str
    csrf: str
    issued_at: float


def fingerprint(key: ApiKey) -> str:
    """The part of a key's hash the cookie carries."""
    return key.sha256[:_FINGERPRINT_CHARS]


def load_or_create_secret(path: Path) -> str:
    """The secret in ``path``, creating it (256 random bits, owner-only) on first use.

    The file is created exclusively (a hard link of a finished temporary file), so workers
    starting at once all end up with the one secret that was linked first.
    """
    existing = _read_secret(path)
    if existing is not None:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    tmp.write_text(secrets.token_urlsafe(32) + "\n", encoding="utf-8")
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)
    except FileExistsError:
        # Another worker linked its secret first: use that one, unless the file is damaged (too short).
        if _read_secret(path) is None:
            tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    found = _read_secret(path)
    assert found is not None  # noqa: S101 - written just above
    return found


def _read_secret(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text if len(text) >= 32 else None


class SessionSigner:
    """Issues and verifies session and login-form cookies with one secret."""

    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self.max_age_seconds = max_age_seconds
        sha256 = {"digest_method": hashlib.sha256}
        self._session = URLSafeTimedSerializer(secret, salt=_SALT_SESSION, signer_kwargs=sha256)
        self._login = URLSafeTimedSerializer(secret, salt=_SALT_LOGIN, signer_kwargs=sha256)

    def issue(self, key: ApiKey) -> tuple[str, Session]:
        """A new session for ``key``: the cookie value and what it says."""
        session = Session(key.name, fingerprint(key), key.role, secrets.token_urlsafe(24), time.time())
        payload = {"n": session.key_name, "f": session.fingerprint, "r": session.role, "c": session.csrf}
        return self._session.dumps(payload), session

    def verify(self, cookie: str) -> Session:
        """The session in ``cookie``; raises ``SessionError`` when it is expired, altered or malformed."""
        try:
            payload, issued = self._session.loads(cookie, max_age=self.max_age_seconds, return_timestamp=True)
        except SignatureExpired:
            raise SessionError("expired", "the session has expired: log in again") from None
        except BadSignature:
            raise SessionError("invalid", "the session cookie is not valid: log in again") from None
        if not isinstance(payload, dict) or not all(isinstance(payload.get(k), str) for k in "nfrc"):
            raise SessionError("invalid", "the session cookie is not valid: log in again")
        return Session(payload["n"], payload["f"], payload["r"], payload["c"], issued.timestamp())

    def login_token(self) -> str:
        """A signed nonce for the login form (the form and its cookie must carry the same one)."""
        return self._login.dumps(secrets.token_urlsafe(24))

    def login_token_valid(self, token: str | None, cookie: str | None) -> bool:
        """True when the form's token and the cookie's are the same, signed and under an hour old."""
        if not token or not cookie or not hmac.compare_digest(token, cookie):
            return False
        try:
            self._login.loads(token, max_age=3600)
        except BadSignature:
            return False
        return True


def session_key(session: Session, keys: list[ApiKey]) -> ApiKey | None:
    """The stored key a session was issued for, if it still exists (a revoked key ends its sessions)."""
    for key in keys:
        if key.name == session.key_name and hmac.compare_digest(fingerprint(key), session.fingerprint):
            return key
    return None


def csrf_valid(session: Session, token: str | None) -> bool:
    """True when a form's CSRF token is this session's."""
    return bool(token) and hmac.compare_digest(session.csrf, token or "")


class LoginThrottle:
    """Failed logins per client: after ``attempts`` in ``window_seconds``, refused until they age out."""

    def __init__(self, attempts: int, window_seconds: float) -> None:
        self.attempts = attempts
        self.window_seconds = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and now - failures[0] >= self.window_seconds:
            failures.popleft()
        return failures

    def retry_after(self, client: str, now: float | None = None) -> int:
        """Seconds until ``client`` may try again (0: it may try now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            failures = self._recent(client, now)
            if len(failures) < self.attempts:
                return 0
            return max(1, int(failures[0] + self.window_seconds - now + 0.999))

    def failed(self, client: str, now: float | None = None) -> None:
        """Record a failed login."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 10_000:
                # Bounded memory under a spray of clients: drop those with nothing recent.
                for stale in [c for c, f in self._failures.items() if not f]:
                    del self._failures[stale]
