"""The results database's layout, by version: each migration moves it one version up.

``schema_version`` holds one row per applied migration. A database made before
versions existed (tables created by the first batch) counts as version 0: the
migrations create only what is missing, so it is adopted in place. Writers upgrade
inside their own transaction; ``supplierrisk db upgrade`` does it ahead of time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

VERSIONS = "schema_version"
BATCHES = "batches"
LATEST = "batch_latest"
SCENARIOS_TABLE = "scenarios"
# Any fixed number: writers of one PostgreSQL database take this transaction lock before upgrading.
_UPGRADE_LOCK_KEY = 7_262_311

_METADATA = sa.MetaData()
_VERSIONS = sa.Table(
    VERSIONS,
    _METADATA,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.Text, nullable=False),
)
_BATCHES = sa.Table(
    BATCHES,
    _METADATA,
    sa.Column("batch_id", sa.Text),
    sa.Column("as_of", sa.Text),
    sa.Column("finished_at", sa.Text),
    sa.Column("manifest", sa.Text),
)
_LATEST = sa.Table(LATEST, _METADATA, sa.Column("batch_id", sa.Text))
SCENARIOS = sa.Table(
    SCENARIOS_TABLE,
    _METADATA,
    sa.Column("scenario_id", sa.String(40), primary_key=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("category", sa.String(400), nullable=False),
    sa.Column("as_of", sa.String(10), nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("model_versions", sa.Text, nullable=False),
    sa.Column("inputs", sa.Text, nullable=False),
    sa.Column("result", sa.Text, nullable=False),
)


class ResultsDatabaseError(RuntimeError):
    """The results database cannot be reached, written or understood; nothing was stored."""


def index_batch_id(conn: Connection, table: str) -> None:
    """An index on a batch table's ``batch_id`` (reads and re-runs select one batch)."""
    quote = conn.dialect.identifier_preparer.quote
    index = quote(f"ix_{table}_batch_id")
    conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {index} ON {quote(table)} (batch_id)"))


def _create_tables(conn: Connection) -> None:
    _METADATA.create_all(conn, tables=[_BATCHES, _LATEST, SCENARIOS], checkfirst=True)


def _index_batch_tables(conn: Connection) -> None:
    for table in sa.inspect(conn).get_table_names():
        if table.startswith("batch_") and table != LATEST:
            index_batch_id(conn, table)
    index_batch_id(conn, BATCHES)


@dataclass(frozen=True)
class Migration:
    """One step of the layout."""

    version: int
    description: str
    apply: Callable[[Connection], None]


MIGRATIONS = (
    Migration(1, "batches, batch_latest and scenarios tables", _create_tables),
    Migration(2, "an index on batch_id of every batch table", _index_batch_tables),
)
LATEST_VERSION = MIGRATIONS[-1].version


def current_version(conn: Connection) -> int:
    """The database's version (0: never versioned, or empty)."""
    if not sa.inspect(conn).has_table(VERSIONS):
        return 0
    found = conn.execute(sa.select(sa.func.max(_VERSIONS.c.version))).scalar_one()
    return int(found or 0)


def upgrade(conn: Connection) -> list[Migration]:
    """Apply the missing migrations in this transaction; the ones applied, oldest first.

    Raises ``ResultsDatabaseError`` for a database newer than this code knows.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
    version = current_version(conn)
    if version > LATEST_VERSION:
        raise ResultsDatabaseError(
            f"the results database has schema version {version}, newer than this supplierrisk knows"
            f" ({LATEST_VERSION}): upgrade supplierrisk, or point SUPPLIERRISK_RESULTS_DB_URL elsewhere"
        )
    pending = [m for m in MIGRATIONS if m.version > version]
    if not pending:
        return []
    _METADATA.create_all(conn, tables=[_VERSIONS], checkfirst=True)
    for migration in pending:
        migration.apply(conn)
        conn.execute(
            _VERSIONS.insert().values(
                version=migration.version,
                description=migration.description,
                applied_at=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
            )
        )
    return pending
