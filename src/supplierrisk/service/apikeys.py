"""API keys: creation, the hashed keys file, revocation and constant-time checks.

A key is shown once, when created; the keys file holds only its SHA-256 with a
role, a name and the creation time. Keys are 256 random bits, so a plain hash is
enough (no password stretching is needed for secrets that cannot be guessed).
The file is replaced atomically and readable by its owner only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal, cast

import pandas as pd

from supplierrisk.storage import atomic_write

Role = Literal["viewer", "admin"]
ROLES: Final = ("viewer", "admin")
KEY_PREFIX: Final = "sr_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class KeyFileError(ValueError):
    """The keys file cannot be read, or a key request is invalid."""


@dataclass(frozen=True)
class ApiKey:
    """One stored key: never the key itself, only its hash."""

    name: str
    role: Role
    sha256: str
    created_at: str


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def load_keys(path: Path) -> list[ApiKey]:
    """The keys in ``path`` (none when the file does not exist yet)."""
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["keys"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a supplierrisk keys file ({exc})") from None
    keys = []
    for number, entry in enumerate(entries, start=1):
        try:
            key = ApiKey(
                name=str(entry["name"]),
                role=cast(Role, entry["role"]),
                sha256=str(entry["sha256"]),
                created_at=str(entry["created_at"]),
            )
        except (KeyError, TypeError) as exc:
            raise KeyFileError(f"{path}: key {number} lacks field {exc}") from None
        if key.role not in ROLES:
            raise KeyFileError(f"{path}: key {number} ({key.name}) has unknown role {key.role!r}")
        keys.append(key)
    return keys


def _save(path: Path, keys: list[ApiKey]) -> None:
    text = json.dumps({"keys": [asdict(k) for k in keys]}, indent=2) + "\n"

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    # Owner-only: the hashes cannot be reversed, but who holds which role is policy.
    atomic_write(path, write, mode=0o600)


def create_key(path: Path, role: str, name: str | None = None) -> tuple[str, ApiKey]:
    """Make a new random key with ``role``; store its hash and return the key (shown once) and its record."""
    if role not in ROLES:
        raise KeyFileError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    keys = load_keys(path)
    taken = {k.name for k in keys}
    if name is None:
        number = len(keys) + 1
        while f"{role}-{number}" in taken:
            number += 1
        name = f"{role}-{number}"
    if not _NAME.fullmatch(name):
        raise KeyFileError(f"key name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    if name in taken:
        raise KeyFileError(f"a key named {name!r} already exists in {path}; revoke it first")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        name=name,
        role=cast(Role, role),
        sha256=hash_key(key),
        created_at=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
    )
    _save(path, [*keys, record])
    return key, record


def revoke_key(path: Path, name: str) -> ApiKey:
    """Remove the key called ``name``; the service stops accepting it at its next request."""
    keys = load_keys(path)
    found = [k for k in keys if k.name == name]
    if not found:
        known = ", ".join(k.name for k in keys) or "none"
        raise KeyFileError(f"no key named {name!r} in {path} (keys: {known})")
    _save(path, [k for k in keys if k.name != name])
    return found[0]


class KeyRing:
    """The keys a service accepts, re-read whenever the keys file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._keys: list[ApiKey] = []
        self.refresh()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def refresh(self) -> None:
        """Re-read the file if it changed since the last read (a stat call otherwise)."""
        stamp = self._file_stamp()
        if stamp != self._stamp:
            self._keys = load_keys(self.path)
            self._stamp = stamp

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> list[ApiKey]:
        """The keys as last read."""
        return list(self._keys)

    def authenticate(self, presented: str) -> ApiKey | None:
        """The key matching ``presented``, compared in constant time against every stored hash."""
        digest = hash_key(presented)
        match = None
        for key in self._keys:
            # No early exit: the time taken does not tell which key (or how much of one) matched.
            if hmac.compare_digest(digest, key.sha256):
                match = key
        return match
