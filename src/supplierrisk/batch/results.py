"""The batch results database: every batch's tables, queryable by the API (any SQLAlchemy URL).

Each batch table ``T`` is stored as ``batch_T`` with a leading ``batch_id`` column;
``batches`` holds one row per batch (as-of, finish time, manifest) and
``batch_latest`` the id of the latest published batch. A batch is written in one
transaction that first deletes its own rows, so re-running a batch never
duplicates rows and a crash leaves no partial batch. Columns a later batch adds
are added to the table (``ALTER TABLE ... ADD COLUMN``).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

BATCHES = "batches"
LATEST = "batch_latest"


def engine_for(url: str) -> Engine:
    """An engine for the results URL (SQLite files get their folder created)."""
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url)


def _sql_type(series: pd.Series) -> sa.types.TypeEngine[Any]:
    if pd.api.types.is_bool_dtype(series):
        return sa.Boolean()
    if pd.api.types.is_integer_dtype(series):
        return sa.BigInteger()
    if pd.api.types.is_float_dtype(series):
        return sa.Float()
    if pd.api.types.is_datetime64_any_dtype(series):
        return sa.DateTime()
    return sa.Text()


def _ensure_columns(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    inspector = sa.inspect(conn)
    if not inspector.has_table(table):
        return
    present = {c["name"] for c in inspector.get_columns(table)}
    quote = conn.dialect.identifier_preparer.quote
    for column in frame.columns:
        if column not in present:
            kind = _sql_type(frame[column]).compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)} {kind}"))


def _table(conn: Connection, name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=conn)


def _replace_rows(conn: Connection, table: str, frame: pd.DataFrame, identifier: str) -> None:
    if sa.inspect(conn).has_table(table):
        existing = _table(conn, table)
        conn.execute(sa.delete(existing).where(existing.c.batch_id == identifier))
    _ensure_columns(conn, table, frame)
    frame.to_sql(
        table,
        conn,
        if_exists="append",
        index=False,
        chunksize=50_000,
        dtype={c: _sql_type(frame[c]) for c in frame.columns},
    )


def write_batch(url: str, identifier: str, tables: dict[str, pd.DataFrame], manifest: dict[str, Any]) -> None:
    """Store a batch's tables and manifest in one transaction (replacing rows of the same batch id)."""
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            for name, frame in tables.items():
                rows = frame.copy()
                rows.insert(0, "batch_id", identifier)
                _replace_rows(conn, f"batch_{name}", rows, identifier)
            summary = pd.DataFrame(
                {
                    "batch_id": [identifier],
                    "as_of": [manifest["as_of"]],
                    "finished_at": [manifest["finished_at"]],
                    "manifest": [json.dumps(manifest, sort_keys=True)],
                }
            )
            _replace_rows(conn, BATCHES, summary, identifier)
    finally:
        engine.dispose()


def set_latest(url: str, identifier: str) -> None:
    """Record ``identifier`` as the latest published batch."""
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            if sa.inspect(conn).has_table(LATEST):
                conn.execute(sa.delete(_table(conn, LATEST)))
            pd.DataFrame({"batch_id": [identifier]}).to_sql(LATEST, conn, if_exists="append", index=False)
    finally:
        engine.dispose()


def latest_batch_id(url: str) -> str | None:
    """The latest published batch id, or None."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(LATEST):
                return None
            row = conn.execute(sa.select(_table(conn, LATEST).c.batch_id)).first()
            return None if row is None else str(row[0])
    finally:
        engine.dispose()


def read_table(url: str, name: str, identifier: str) -> pd.DataFrame:
    """One batch table (without the ``batch_id`` column)."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            table = _table(conn, f"batch_{name}")
            frame = pd.read_sql(sa.select(table).where(table.c.batch_id == identifier), conn)
    finally:
        engine.dispose()
    return frame.drop(columns=["batch_id"])


def count_rows(url: str, name: str) -> int:
    """Rows of a batch table over all batches (tests check that re-runs add none)."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            table = _table(conn, f"batch_{name}")
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()
