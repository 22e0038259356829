"""API-key authentication: who is calling, and may that role do this."""

import logging

from fastapi import HTTPException
from fastapi.security import APIKeyHeader

from supplierrisk.service.apikeys import ApiKey, KeyFileError, KeyRing

log = logging.getLogger("supplierrisk.serving")

API_KEY_HEADER = "X-API-Key"
api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="An API key from 'supplierrisk keys create'."
)
# Every caller when authentication is switched off (development only; the service warns at start).
AUTH_DISABLED_KEY = ApiKey(name="auth-disabled", role="admin", sha256="", created_at="")


def authenticate(keyring: KeyRing | None, api_key: str | None, role: str) -> ApiKey:
    """The caller's key when it exists and has ``role`` (admin may do everything); else 401/403/503."""
    if keyring is None:
        return AUTH_DISABLED_KEY
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
