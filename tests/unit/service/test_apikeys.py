"""API keys: hashes only on disk, names and roles checked, revocation and file changes seen at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supplierrisk.service.apikeys import KeyFileError, KeyRing, create_key, hash_key, load_keys, revoke_key


def test_create_stores_hash_role_name_time_and_never_the_key(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    key, record = create_key(path, "admin", "ops")
    assert record.name == "ops"
    assert record.role == "admin"
    assert record.sha256 == hash_key(key)
    assert key not in path.read_text(encoding="utf-8")
    assert load_keys(path) == [record]
    assert path.stat().st_mode & 0o777 == 0o600
    other, _ = create_key(path, "viewer")
    assert other != key
    assert [k.name for k in load_keys(path)] == ["ops", "viewer-2"]


@pytest.mark.parametrize(
    ("role", "name", "message"),
    [
        ("owner", None, "role must be one of viewer, admin"),
        ("viewer", "", "key name ''"),
        ("viewer", "has space", "key name 'has space'"),
        ("viewer", "x" * 65, "key name"),
    ],
)
def test_create_rejects_bad_roles_and_names(
    tmp_path: Path, role: str, name: str | None, message: str
) -> None:
    with pytest.raises(KeyFileError, match=message):
        create_key(tmp_path / "keys.json", role, name)


def test_duplicate_names_and_unknown_revocations_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    create_key(path, "viewer", "bi")
    with pytest.raises(KeyFileError, match="already exists"):
        create_key(path, "admin", "bi")
    with pytest.raises(KeyFileError, match=r"no key named 'nope' .*keys: bi"):
        revoke_key(path, "nope")
    assert revoke_key(path, "bi").name == "bi"
    assert load_keys(path) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a supplierrisk keys file"),
        ('{"other": []}', "not a supplierrisk keys file"),
        ('{"keys": [{"name": "a", "role": "viewer"}]}', "key 1 lacks field 'sha256'"),
        (
            '{"keys": [{"name": "a", "role": "root", "sha256": "x", "created_at": "t"}]}',
            "unknown role 'root'",
        ),
    ],
)
def test_a_broken_keys_file_names_the_file_and_the_entry(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KeyFileError, match=message) as info:
        load_keys(path)
    assert str(path) in str(info.value)


def test_keyring_authenticates_and_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = KeyRing(path)
    assert len(ring) == 0
    assert ring.authenticate("anything") is None
    viewer, _ = create_key(path, "viewer", "v")
    admin, _ = create_key(path, "admin", "a")
    ring.refresh()
    found = ring.authenticate(viewer)
    assert found is not None
    assert found.role == "viewer"
    assert ring.authenticate(admin).role == "admin"  # type: ignore[union-attr]
    assert ring.authenticate(viewer[:-1]) is None
    assert ring.authenticate("") is None
    revoke_key(path, "v")
    ring.refresh()
    assert ring.authenticate(viewer) is None
    assert json.loads(path.read_text())["keys"][0]["name"] == "a"
