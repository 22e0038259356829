"""The batch results database: every batch's tables, queryable by the API (any SQLAlchemy URL).

Each batch table ``T`` is stored as ``batch_T`` with a leading ``batch_id`` column;
``batches`` holds one row per batch (as-of, finish time, manifest) and
``batch_latest`` the id of the latest published batch. A batch is written in one
transaction that first deletes its own rows, so re-running a batch never
duplicates rows and a crash leaves no partial batch. Columns a later batch adds
are added to the table (``ALTER TABLE ... ADD COLUMN``). On PostgreSQL the rows go
in with ``COPY``, on SQLite with the driver's ``executemany``, elsewhere through SQLAlchemy.

The layout has a version (``schema_version``, see ``supplierrisk.batch.migrations``):
writers bring an older database up to date first, and refuse a newer one.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from supplierrisk.batch import migrations
from supplierrisk.logs import one_line
from supplierrisk.settings import display_url

BATCHES = migrations.BATCHES
LATEST = migrations.LATEST
ResultsDatabaseError = migrations.ResultsDatabaseError


@functools.lru_cache(maxsize=16)
def engine_for(url: str) -> Engine:
    """The process's engine for the results URL (SQLite files get their folder created).

    One engine per URL keeps one connection pool per process; ``pool_pre_ping`` drops
    connections a restarted server closed, so the next call reconnects.
    """
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url, pool_pre_ping=True)


@contextmanager
def transaction(url: str, *, write: bool) -> Iterator[Connection]:
    """A connection in one transaction; writers first bring the schema up to date.

    Driver failures become a one-line ``ResultsDatabaseError`` naming the database.
    """
    try:
        with engine_for(url).begin() as conn:
            if write:
                migrations.upgrade(conn)
            yield conn
    # psycopg's own errors reach here from COPY, which runs on the driver's cursor.
    except (sa.exc.SQLAlchemyError, psycopg.Error, OSError) as exc:
        raise ResultsDatabaseError(f"results database {display_url(url)}: {one_line(exc)}") from None


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
    present = {c["name"] for c in sa.inspect(conn).get_columns(table)}
    quote = conn.dialect.identifier_preparer.quote
    for column in frame.columns:
        if column not in present:
            kind = _sql_type(frame[column]).compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column)} {kind}"))


def _table(conn: Connection, name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=conn)


def _copy_rows(table: Any, conn: Connection, keys: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """``to_sql`` insert method for PostgreSQL: one ``COPY ... FROM STDIN`` per chunk."""
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(k) for k in keys)
    count = 0
    driver = conn.connection.driver_connection
    if driver is None:
        raise ResultsDatabaseError("the results database connection closed during COPY")
    statement = f"COPY {quote(table.name)} ({columns}) FROM STDIN"  # noqa: S608 - names quoted by the dialect
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _insert_rows(table: Any, conn: Connection, keys: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """``to_sql`` insert method for SQLite: one driver-level ``executemany`` of plain tuples per chunk.

    pandas' default hands SQLAlchemy one dict per row, whose per-row parameter handling
    costs more than the insert itself at a million rows.
    """
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(k) for k in keys)
    marks = ", ".join("?" for _ in keys)
    statement = f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})"  # noqa: S608 - names quoted
    driver = conn.connection.driver_connection
    if driver is None:
        raise ResultsDatabaseError("the results database connection closed during the insert")
    cursor = driver.cursor()
    try:
        cursor.executemany(statement, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def _sqlite_datetimes(frame: pd.DataFrame) -> pd.DataFrame:
    """Naive date-time columns as SQLAlchemy's SQLite text (so ``_insert_rows`` writes the same)."""
    columns = [c for c in frame.columns if pd.api.types.is_datetime64_dtype(frame[c])]
    if not columns or frame.empty:  # (numpy's string replace fails on an empty array)
        return frame
    out = frame.copy(deep=False)
    for column in columns:
        values = frame[column].to_numpy(dtype="datetime64[us]")
        text = np.char.replace(np.datetime_as_string(values, unit="us"), "T", " ").astype(object)
        text[np.isnat(values)] = None
        out[column] = text
    return out


def _replace_rows(conn: Connection, table: str, frame: pd.DataFrame, identifier: str) -> None:
    exists = sa.inspect(conn).has_table(table)
    if exists:
        existing = _table(conn, table)
        conn.execute(sa.delete(existing).where(existing.c.batch_id == identifier))
        _ensure_columns(conn, table, frame)
    dialect = conn.dialect.name
    method = _copy_rows if dialect == "postgresql" else None
    rows = frame
    # Time-zone-aware columns keep SQLAlchemy's own conversion (no batch table has one today).
    if dialect == "sqlite" and not any(isinstance(dtype, pd.DatetimeTZDtype) for dtype in frame.dtypes):
        method, rows = _insert_rows, _sqlite_datetimes(frame)
    rows.to_sql(
        table,
        conn,
        if_exists="append",
        index=False,
        chunksize=50_000,
        dtype={c: _sql_type(frame[c]) for c in frame.columns},
        method=method,
    )
    if not exists:
        migrations.index_batch_id(conn, table)


def write_batch(url: str, identifier: str, tables: dict[str, pd.DataFrame], manifest: dict[str, Any]) -> None:
    """Store a batch's tables and manifest in one transaction (replacing rows of the same batch id)."""
    with transaction(url, write=True) as conn:
        for name, frame in tables.items():
            rows = frame.copy()
            rows.insert(0, "batch_id", identifier)
            _replace_rows(conn, f"batch_{name}", rows, identifier)
        batches = _table(conn, BATCHES)
        conn.execute(sa.delete(batches).where(batches.c.batch_id == identifier))
        conn.execute(
            batches.insert().values(
                batch_id=identifier,
                as_of=str(manifest["as_of"]),
                finished_at=str(manifest["finished_at"]),
                manifest=json.dumps(manifest, sort_keys=True, default=str),
            )
        )


def set_latest(url: str, identifier: str) -> None:
    """Record ``identifier`` as the latest published batch."""
    with transaction(url, write=True) as conn:
        latest = _table(conn, LATEST)
        conn.execute(sa.delete(latest))
        conn.execute(latest.insert().values(batch_id=identifier))


def latest_batch_id(url: str) -> str | None:
    """The latest published batch id, or None."""
    with transaction(url, write=False) as conn:
        if not sa.inspect(conn).has_table(LATEST):
            return None
        row = conn.execute(sa.select(_table(conn, LATEST).c.batch_id)).first()
        return None if row is None else str(row[0])


def read_table(url: str, name: str, identifier: str) -> pd.DataFrame:
    """One batch table (without the ``batch_id`` column)."""
    with transaction(url, write=False) as conn:
        table = _table(conn, f"batch_{name}")
        frame = pd.read_sql(sa.select(table).where(table.c.batch_id == identifier), conn)
    return frame.drop(columns=["batch_id"])


def count_rows(url: str, name: str) -> int:
    """Rows of a batch table over all batches (tests check that re-runs add none)."""
    with transaction(url, write=False) as conn:
        table = _table(conn, f"batch_{name}")
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def upgrade_database(url: str) -> tuple[int, list[migrations.Migration]]:
    """Bring the results database to the latest layout: its version before, and the steps applied."""
    with transaction(url, write=False) as conn:
        before = migrations.current_version(conn)
        applied = migrations.upgrade(conn)
    return before, applied
