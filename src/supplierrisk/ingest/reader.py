"""Reading source exports: CSV (any delimiter, UTF-8 or Latin-1, BOM, CR/LF/CRLF) and Parquet."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from supplierrisk.ingest.errors import IngestError
from supplierrisk.ingest.mapping import Mapping

_PARQUET_MAGIC = b"PAR1"
_CSV_SUFFIXES = {".csv", ".txt", ".tsv", ".gz"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}


def detect_format(path: Path, mapping: Mapping) -> str:
    """The source format: the mapping's, else the suffix's, else sniffed from the first bytes."""
    if mapping.format is not None:
        return mapping.format
    suffix = path.suffix.lower()
    if suffix in _PARQUET_SUFFIXES:
        return "parquet"
    if suffix in _CSV_SUFFIXES:
        return "csv"
    with path.open("rb") as handle:
        return "parquet" if handle.read(4) == _PARQUET_MAGIC else "csv"


def read_source(path: Path, mapping: Mapping) -> pd.DataFrame:
    """Read a source file into a frame with a fresh 0..n-1 index.

    CSV cells are kept as text (nothing is guessed); Parquet keeps its types.
    """
    if not path.exists():
        raise IngestError(f"{path}: file not found")
    if path.is_dir():
        raise IngestError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise IngestError(f"{path}: file is empty")
    fmt = detect_format(path, mapping)
    frame = _read_parquet(path) if fmt == "parquet" else _read_csv(path, mapping)
    if frame.empty:
        raise IngestError(f"{path}: file has a header but no data rows")
    return frame.reset_index(drop=True)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{path}: not a readable Parquet file ({exc})") from None


def _decode(path: Path, raw: bytes, encoding: str | None) -> str:
    if b"\x00" in raw[:4096] or raw[:4] == _PARQUET_MAGIC:
        raise IngestError(f"{path}: looks binary, not a CSV text file (wrong format?)")
    if encoding is not None:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise IngestError(f"{path}: cannot decode as {encoding} ({exc})") from None
    try:
        # utf-8-sig drops a byte-order mark when there is one.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Latin-1 maps every byte, so older Windows/ERP exports always decode.
        return raw.decode("latin-1")


def _sniff_delimiter(path: Path, text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        if counts[best] == 0:
            return ","
        return best


def _read_csv(path: Path, mapping: Mapping) -> pd.DataFrame:
    raw = path.read_bytes()
    if path.suffix.lower() == ".gz":
        import gzip

        raw = gzip.decompress(raw)
    text = _decode(path, raw, mapping.encoding)
    # Old-Mac CR-only and Windows CRLF line endings become plain LF.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise IngestError(f"{path}: file is empty")
    delimiter = mapping.delimiter or _sniff_delimiter(path, text)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skipinitialspace=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise IngestError(f"{path}: cannot parse as CSV with delimiter {delimiter!r} ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame
