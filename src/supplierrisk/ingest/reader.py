"""Reading source exports: CSV (any delimiter and encoding), Parquet and Excel workbooks.

Every reader returns a :class:`Source`: the cells as read and how they were read
(format, encoding and why, sheet and header row), so the report can say it.
CSV cells are text; Parquet keeps its types; Excel cells keep theirs (numbers,
dates, text), and the validator parses each kind by its rules.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from supplierrisk.ingest.errors import IngestError
from supplierrisk.ingest.excel import read_excel
from supplierrisk.ingest.mapping import Mapping

_PARQUET_MAGIC: Final = b"PAR1"
_ZIP_MAGIC: Final = b"PK\x03\x04"  # .xlsx, .xlsm and .ods are zip archives
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (BIFF in an OLE container)
_GZIP_MAGIC: Final = b"\x1f\x8b"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
_CSV_SUFFIXES: Final = {".csv", ".txt", ".tsv", ".gz"}
_PARQUET_SUFFIXES: Final = {".parquet", ".pq"}
_EXCEL_SUFFIXES: Final = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
# A text export has almost no NUL bytes; a binary file or UTF-16 without a BOM has many.
_MAX_NUL_SHARE: Final = 0.01


@dataclass(frozen=True)
class Source:
    """A source file as read: its cells (fresh 0..n-1 index) and how they were read."""

    frame: pd.DataFrame
    format: str
    encoding: str | None = None
    encoding_reason: str = ""
    sheet: str | None = None
    header_row: int = 1
    notes: list[str] = field(default_factory=list)

    def locate(self, rejects: pd.DataFrame) -> pd.DataFrame:
        """Rejects with ``sheet_row`` (the row as Excel numbers it) beside ``source_row`` for workbooks."""
        if self.format != "excel" or "source_row" not in rejects:
            return rejects
        out = rejects.copy()
        out.insert(1, "sheet_row", out["source_row"].astype("int64") + self.header_row)
        return out

    def describe(self) -> str:
        """One line for the report: format, and encoding with its reason or sheet and header row."""
        if self.format == "excel":
            return f"excel, sheet '{self.sheet}', header on row {self.header_row}"
        if self.format == "csv":
            return f"csv, encoding {self.encoding} ({self.encoding_reason})"
        return self.format


def detect_format(path: Path, mapping: Mapping) -> str:
    """The source format: the mapping's, else the suffix's, else sniffed from the first bytes."""
    if mapping.format is not None:
        return mapping.format
    suffix = path.suffix.lower()
    if suffix in _PARQUET_SUFFIXES:
        return "parquet"
    if suffix in _EXCEL_SUFFIXES:
        return "excel"
    if suffix in _CSV_SUFFIXES:
        return "csv"
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_ZIP_MAGIC) or head.startswith(_OLE_MAGIC):
        return "excel"
    return "csv"


def read_source(path: Path, mapping: Mapping) -> Source:
    """Read a source file; user errors name the file and what to do."""
    if not path.exists():
        raise IngestError(f"{path}: file not found")
    if path.is_dir():
        raise IngestError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise IngestError(f"{path}: file is empty")
    fmt = detect_format(path, mapping)
    if fmt == "parquet":
        source = Source(_read_parquet(path), "parquet")
    elif fmt == "excel":
        excel = read_excel(path, mapping)
        source = Source(excel.frame, "excel", sheet=excel.sheet, header_row=excel.header_row)
    else:
        source = _read_csv(path, mapping)
    if source.frame.empty:
        raise IngestError(f"{path}: file has a header but no data rows")
    return source


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas().reset_index(drop=True)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"{path}: not a readable Parquet file ({exc})") from None


def decode_text(path: Path, raw: bytes, encoding: str | None) -> tuple[str, str, str]:
    """The file's text, the encoding used and why it was chosen (never a silent guess).

    - the mapping's ``encoding`` when given;
    - UTF-16 when the file starts with its byte-order mark;
    - UTF-8 when every byte sequence is valid UTF-8 (a UTF-8 byte-order mark is dropped);
    - Latin-1 when the file is not UTF-8 and holds no multi-byte UTF-8 sequence at all
      (an older single-byte export);
    - otherwise the file is UTF-8 with some invalid bytes: they are kept as escapes,
      and the rows holding them are rejected as ``undecodable_bytes``.
    """
    if encoding is not None:
        try:
            return raw.decode(encoding), encoding, "given in the mapping"
        except (UnicodeDecodeError, LookupError) as exc:
            raise IngestError(f"{path}: cannot decode as {encoding} ({exc})") from None
    if raw.startswith(_UTF16_BOMS):
        return raw.decode("utf-16"), "utf-16", "byte-order mark"
    if raw.startswith(_PARQUET_MAGIC) or raw.startswith(_ZIP_MAGIC) or raw.startswith(_OLE_MAGIC):
        raise IngestError(f"{path}: looks binary, not a CSV text file (wrong format? set 'format:')")
    nul_bytes = raw.count(b"\x00")
    if nul_bytes > _MAX_NUL_SHARE * len(raw):
        raise IngestError(
            f"{path}: looks binary or UTF-16 without a byte-order mark ({nul_bytes} NUL bytes);"
            " set 'encoding:' in the mapping"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        if not _has_utf8_sequences(raw):
            return raw.decode("latin-1"), "latin-1", f"not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line})"
        text = raw.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
        return text, "utf-8", f"UTF-8 with invalid bytes from line {line}: those rows are rejected"
    reason = "byte-order mark" if raw.startswith(b"\xef\xbb\xbf") else "valid UTF-8"
    return text, "utf-8", reason


def _has_utf8_sequences(raw: bytes) -> bool:
    """True when the bytes hold at least one well-formed multi-byte UTF-8 character."""
    text = raw.decode("utf-8", errors="ignore")
    return any(ord(ch) > 0x7F for ch in text)


# pandas' CSV parser ends a cell at a NUL and cannot hold lone surrogates (undecodable bytes), so both
# travel through it as private-use characters and are put back after parsing, for the validator to see.
_PROTECTED: Final = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)] + [
    chr(c) for c in range(0xDC80, 0xDD00)
]
_TO_PRIVATE: Final = {ord(ch): 0xF0000 + i for i, ch in enumerate(_PROTECTED)}
_FROM_PRIVATE: Final = {0xF0000 + i: ord(ch) for i, ch in enumerate(_PROTECTED)}
_NEEDS_PROTECTION: Final = re.compile("[" + "".join(re.escape(ch) for ch in _PROTECTED) + "]")


def _restore(frame: pd.DataFrame) -> pd.DataFrame:
    restored = frame.apply(lambda column: column.str.translate(_FROM_PRIVATE))
    restored.columns = [str(c).translate(_FROM_PRIVATE) for c in frame.columns]
    return restored


def _sniff_delimiter(text: str) -> str:
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


def _read_csv(path: Path, mapping: Mapping) -> Source:
    raw = path.read_bytes()
    if path.suffix.lower() == ".gz" or raw.startswith(_GZIP_MAGIC):
        raw = gzip.decompress(raw)
    text, encoding, reason = decode_text(path, raw, mapping.encoding)
    # Old-Mac CR-only and Windows CRLF line endings become plain LF.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise IngestError(f"{path}: file is empty")
    delimiter = mapping.delimiter or _sniff_delimiter(text)
    protect = _NEEDS_PROTECTION.search(text) is not None
    if protect:
        text = text.translate(_TO_PRIVATE)
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
    if protect:
        frame = _restore(frame)
    frame.columns = [str(c).strip() for c in frame.columns]
    return Source(frame.reset_index(drop=True), "csv", encoding, reason)
