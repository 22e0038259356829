"""A throwaway PostgreSQL server for the tests: Debian's binaries, a temp data folder, loopback only.

``SUPPLIERRISK_TEST_POSTGRES_URL`` points the tests at a server already running instead
(a database is created in it per test). Without either, the PostgreSQL tests skip with
the reason, unless ``SUPPLIERRISK_TEST_REQUIRE_POSTGRES=1`` (CI), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa

URL_VARIABLE = "SUPPLIERRISK_TEST_POSTGRES_URL"
REQUIRE_VARIABLE = "SUPPLIERRISK_TEST_REQUIRE_POSTGRES"
USER = "supplierrisk"


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server can be started or reached here."""


def _binaries() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise PostgresUnavailableError(
            "no PostgreSQL binaries under /usr/lib/postgresql (apt-get install -y postgresql)"
        )
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One server: ``initdb`` into a temp folder, ``pg_ctl start`` on a free loopback port."""

    def __init__(self) -> None:
        self.bin = _binaries()
        self.root = Path(tempfile.mkdtemp(prefix="supplierrisk-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        # initdb refuses to run as root: run the server as Debian's postgres user then.
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_user:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", USER, "-A", "trust", "--no-sync", "-E", "UTF8")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        command = [*self._as_user, str(self.bin / tool), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)  # noqa: S603
        if done.returncode != 0:
            raise PostgresUnavailableError(f"{tool} failed: {(done.stderr or done.stdout).strip()[-400:]}")

    def running(self) -> bool:
        """Whether the server is up (``pg_ctl status``)."""
        command = [*self._as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "status"]
        return subprocess.run(command, capture_output=True, check=False, timeout=60).returncode == 0  # noqa: S603

    def start(self) -> None:
        """Start the server (nothing when it runs); returns once it accepts connections."""
        if self.data.joinpath("postmaster.pid").exists() and self.running():
            return
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start"
        )

    def stop(self) -> None:
        """Stop the server at once (clients see their connections drop)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    @property
    def url(self) -> str:
        """The server's admin URL (database ``postgres``)."""
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/postgres"

    def close(self) -> None:
        """Stop the server and remove its folder."""
        with contextlib.suppress(PostgresUnavailableError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def create_database(admin_url: str) -> str:
    """A new empty database on the server; its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return str(sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False))


def required() -> bool:
    """Whether a missing server is a failure (CI) rather than a skip."""
    return os.environ.get(REQUIRE_VARIABLE, "") == "1"
