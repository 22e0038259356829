"""Atomic file writes and the canonical store on disk.

Every output is written to a temporary file in the destination folder and
published with a rename (``Path.replace``), so a crash leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pandas.core.util.hashing import combine_hash_arrays

from supplierrisk.parallel import usable_cpus
from supplierrisk.schema import conform, empty_history


def atomic_write(path: Path, write: Callable[[Path], None], mode: int | None = None) -> Path:
    """Call ``write(tmp_path)`` then move the result onto ``path`` in one rename.

    The file gets ``mode`` when given (e.g. ``0o600`` for owner-only), else the umask-based default.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        if mode is None:
            # mkstemp makes owner-only files; published outputs get the usual umask-based mode.
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        tmp.chmod(mode)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` to Parquet atomically (no index)."""
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` to CSV atomically (UTF-8, no index)."""
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def write_text(text: str, path: Path) -> Path:
    """Write ``text`` atomically (UTF-8)."""

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write(path, write)


class LockedError(RuntimeError):
    """Another process holds the lock (a batch, or an ingest writing the store)."""


@contextlib.contextmanager
def exclusive_lock(path: Path, what: str, error: type[LockedError] = LockedError) -> Iterator[None]:
    """Hold ``path``'s lock for the block; raise ``error`` at once (no waiting) when another process holds it.

    The kernel releases an ``flock`` when its process dies, so a killed run never
    leaves a stale lock behind. The file names the holder's pid for the message.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise error(f"another {what} is running (lock {path} held by {holder})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def store_lock(store_path: Path) -> contextlib.AbstractContextManager[None]:
    """The store's writer lock: ingests run one at a time (readers need none: the store is replaced whole)."""
    return exclusive_lock(store_path.parent / ".lock", "ingest")


class StoreEmptyError(RuntimeError):
    """The canonical store has no lines yet."""


Fingerprint: TypeAlias = dict[str, str | int]


def read_history(path: Path) -> pd.DataFrame:
    """Read a canonical history from Parquet; an absent store reads as empty."""
    return _read_store(path, hash_text=False)[0]


def load_store(path: Path) -> pd.DataFrame:
    """The canonical history, or a clear error when nothing was ingested yet."""
    return _nonempty(read_history(path), path)


def load_store_fingerprinted(path: Path) -> tuple[pd.DataFrame, Fingerprint]:
    """``load_store`` and the history's ``data_fingerprint``, hashing text while it is still Arrow data."""
    history, text_hashes = _read_store(path, hash_text=True)
    return _nonempty(history, path), data_fingerprint(history, text_hashes)


def _nonempty(history: pd.DataFrame, path: Path) -> pd.DataFrame:
    if history.empty:
        raise StoreEmptyError(f"the store {path} is empty: run 'supplierrisk ingest' first")
    return history


def _read_store(path: Path, hash_text: bool) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    if not path.exists():
        return empty_history(), {}
    table = pq.read_table(path, use_pandas_metadata=True)  # as pandas.read_parquet reads it
    # Parquet text reads as str objects with None for nulls: already canonical, which the schema tells.
    text = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    # Text columns are decoded on worker threads (Arrow's dictionary encoding releases the GIL) while
    # this thread converts the rest.
    with ThreadPoolExecutor(min(usable_cpus(), max(1, len(text)))) as pool:
        decoding = {name: pool.submit(_decode_text, table.column(name), hash_text) for name in text}
        others = table.drop_columns(text).to_pandas()
        decoded = {name: future.result() for name, future in decoding.items()}
    columns = {
        name: pd.Series(decoded[name][0], index=others.index) if name in decoded else others[name]
        for name in table.column_names
        if name in decoded or name in others
    }
    frame = pd.DataFrame(columns, index=others.index, copy=False)
    history = conform(frame, text_columns=text, owned=True)
    # Text that conform kept as text (not, say, dates stored as strings) is hashed from Arrow.
    kept = [name for name in text if history[name].dtype == object] if hash_text else []
    hashes = {name: decoded[name][1] for name in kept}
    del table, others, decoded, frame
    # Arrow's pool keeps the freed table's memory for Arrow to reuse (2.5 GB at ten million lines,
    # more than the history itself); what reads the history allocates through numpy, so give it back.
    pa.default_memory_pool().release_unused()
    return history, hashes


def data_fingerprint(
    history: pd.DataFrame, text_hashes: Mapping[str, np.ndarray] | None = None
) -> Fingerprint:
    """A content hash of the history (row order ignored), its row count and date range.

    Each row is hashed and the sorted row hashes are digested: the same result for any
    row order, without sorting the rows themselves (which cost as much again at scale).
    ``text_hashes`` are the hashes of text columns already computed (see ``_decode_text``).
    """
    rows = row_hashes(history, text_hashes)
    digest = hashlib.sha256(np.sort(rows).tobytes()).hexdigest()

    def day(value: object) -> str:
        return "" if pd.isna(value) else pd.Timestamp(value).date().isoformat()

    return {
        "sha256": digest,
        "rows": len(history),
        "order_date_min": day(history["order_date"].min()),
        "order_date_max": day(history["order_date"].max()),
        "delivered_date_max": day(history["delivered_date"].max()),
    }


# pandas' hash of a missing value in a text column.
_MISSING_TEXT_HASH = np.iinfo(np.uint64).max


def row_hashes(frame: pd.DataFrame, known: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Each row's hash: the values of ``pd.util.hash_pandas_object(frame, index=False)``, faster.

    ``known`` holds columns' hashes computed beforehand (from the same values).
    """
    known = known or {}
    columns = (known[name] if name in known else _column_hashes(frame[name]) for name in frame.columns)
    return np.asarray(combine_hash_arrays(columns, frame.shape[1]), dtype=np.uint64)


def _column_hashes(column: pd.Series) -> np.ndarray:
    # For text pandas factorizes, builds a categorical dtype from the distinct values and hashes
    # those. Building the dtype validates them again, which at millions of distinct ids costs more
    # than the rest; the hashes of the distinct values, taken by code, are the same without it.
    if column.dtype != object:
        return pd.util.hash_pandas_object(column, index=False).to_numpy()
    codes, distinct = pd.factorize(column.to_numpy())
    return _hashes_by_code(np.asarray(distinct, dtype=object), codes)


def _decode_text(column: pa.ChunkedArray, with_hashes: bool) -> tuple[np.ndarray, np.ndarray]:
    """An Arrow text column as pandas reads it (str, None for nulls), and its ``_column_hashes``.

    Both come through Arrow's dictionary encoding: it finds the distinct strings in its own
    buffers, several times faster than pandas finds them among Python strings, so each distinct
    string becomes one Python object (as ``to_pandas`` deduplicates them) and is hashed once.
    Without ``with_hashes`` the hashes are empty.
    """
    encoded = pc.dictionary_encode(column.combine_chunks())
    distinct: np.ndarray = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
    codes = pc.fill_null(encoded.indices, -1).to_numpy()
    # Missing values (code -1) take the None appended last.
    values = np.concatenate([distinct, np.array([None], dtype=object)]).take(codes)
    hashes = _hashes_by_code(distinct, codes) if with_hashes else np.empty(0, dtype=np.uint64)
    return values, hashes


def _hashes_by_code(distinct: np.ndarray, codes: np.ndarray) -> np.ndarray:
    if not len(distinct):
        return np.full(len(codes), _MISSING_TEXT_HASH, dtype=np.uint64)
    hashes = pd.util.hash_array(distinct, categorize=False).take(codes)
    hashes[codes < 0] = _MISSING_TEXT_HASH
    return hashes
