"""Workspace sessions: signing, expiry, tampering, revoked keys, CSRF tokens, login throttling, the secret."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from supplierrisk.service.apikeys import ApiKey
from supplierrisk.service.websession import (
    LoginThrottle,
    SessionError,
    SessionSigner,
    csrf_valid,
    fingerprint,
    load_or_create_secret,
    session_key,
)

KEY = ApiKey(name="anna", role="viewer", sha256="ab" * 32, created_at="2026-01-01T00:00:00+00:00")
OTHER = ApiKey(name="anna", role="viewer", sha256="cd" * 32, created_at="2026-02-01T00:00:00+00:00")


def test_a_session_round_trips_and_never_carries_the_key_hash_whole() -> None:
    signer = SessionSigner("s" * 43, 3600)
    cookie, issued = signer.issue(KEY)
    session = signer.verify(cookie)
    assert (session.key_name, session.role, session.csrf) == ("anna", "viewer", issued.csrf)
    assert session.fingerprint == fingerprint(KEY) == KEY.sha256[:16]
    assert KEY.sha256 not in cookie


def test_a_tampered_cookie_or_another_secret_is_invalid() -> None:
    signer = SessionSigner("s" * 43, 3600)
    cookie, _ = signer.issue(KEY)
    payload, rest = cookie.split(".", 1)
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest
    for bad in (forged, cookie + "x", "garbage", SessionSigner("t" * 43, 3600).issue(KEY)[0]):
        with pytest.raises(SessionError) as caught:
            signer.verify(bad)
        assert caught.value.reason == "invalid"


def test_an_old_cookie_is_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = SessionSigner("s" * 43, 60)
    cookie, _ = signer.issue(KEY)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)
    with pytest.raises(SessionError, match="expired") as caught:
        signer.verify(cookie)
    assert caught.value.reason == "expired"


def test_a_session_ends_when_its_key_is_revoked_or_replaced() -> None:
    signer = SessionSigner("s" * 43, 3600)
    session = signer.verify(signer.issue(KEY)[0])
    assert session_key(session, [OTHER, KEY]) == KEY
    assert session_key(session, []) is None
    # Same name, new key: the old session does not carry over.
    assert session_key(session, [OTHER]) is None


def test_csrf_token_must_be_the_sessions_own() -> None:
    signer = SessionSigner("s" * 43, 3600)
    session = signer.verify(signer.issue(KEY)[0])
    assert csrf_valid(session, session.csrf)
    for wrong in (None, "", session.csrf + "x", signer.verify(signer.issue(KEY)[0]).csrf):
        assert not csrf_valid(session, wrong)


def test_login_form_token_must_match_its_cookie_and_be_signed() -> None:
    signer = SessionSigner("s" * 43, 3600)
    token = signer.login_token()
    assert signer.login_token_valid(token, token)
    assert not signer.login_token_valid(token, signer.login_token())
    assert not signer.login_token_valid(None, token)
    assert not signer.login_token_valid("forged", "forged")


def test_throttle_refuses_after_the_allowed_failures_until_they_age_out() -> None:
    throttle = LoginThrottle(attempts=3, window_seconds=60)
    for second in (0.0, 1.0, 2.0):
        assert throttle.retry_after("10.0.0.1", now=second) == 0
        throttle.failed("10.0.0.1", now=second)
    assert throttle.retry_after("10.0.0.1", now=3.0) == 57  # the first failure ages out at 60 s
    assert throttle.retry_after("10.0.0.2", now=3.0) == 0  # other clients are not affected
    assert throttle.retry_after("10.0.0.1", now=60.0) == 0
    for second in (61.0, 61.5, 62.0):  # three more, all within a minute: refused again
        throttle.failed("10.0.0.1", now=second)
    assert throttle.retry_after("10.0.0.1", now=62.5) == 59


def test_workers_starting_together_share_one_secret(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "ui_session.key"
    with ThreadPoolExecutor(8) as pool:
        secrets_seen = set(pool.map(lambda _: load_or_create_secret(path), range(16)))
    assert len(secrets_seen) == 1
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_secret_is_created_owner_only_once_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "home" / "ui_session.key"
    first = load_or_create_secret(path)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first
    path.write_text("short\n", encoding="utf-8")  # a damaged file is replaced, not trusted
    assert load_or_create_secret(path) != "short"
