from pathlib import Path

import pandas as pd
import pytest

from supplierrisk.ingest import IngestError, read_source
from supplierrisk.ingest.mapping import parse_mapping

MAPPING = parse_mapping({"columns": {"po_id": "PO"}}, "m")


def test_bom_is_dropped_from_first_header(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffPO,Vendor\n1,Acme\n".encode())
    frame = read_source(path, MAPPING).frame
    assert list(frame.columns) == ["PO", "Vendor"]


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
def test_line_endings(tmp_path: Path, newline: str) -> None:
    path = tmp_path / "lines.csv"
    path.write_bytes(newline.join(["PO,Vendor", "1,Acme", "2,Beta", ""]).encode())
    frame = read_source(path, MAPPING).frame
    assert frame["Vendor"].tolist() == ["Acme", "Beta"]


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        delimiter.join(["PO", "Vendor", "Qty"]) + "\n" + delimiter.join(["1", "Acme", "3"]) + "\n"
    )
    frame = read_source(path, MAPPING).frame
    assert list(frame.columns) == ["PO", "Vendor", "Qty"]
    assert frame.loc[0, "Qty"] == "3"


def test_latin1_falls_back_and_explicit_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("PO;Lieferant\n1;Müller GmbH\n".encode("latin-1"))
    assert read_source(path, MAPPING).frame.loc[0, "Lieferant"] == "Müller GmbH"
    explicit = parse_mapping({"encoding": "latin-1", "delimiter": ";"}, "m")
    assert read_source(path, explicit).frame.loc[0, "Lieferant"] == "Müller GmbH"
    wrong = parse_mapping({"encoding": "ascii"}, "m")
    with pytest.raises(IngestError, match="cannot decode as ascii"):
        read_source(path, wrong)


def test_cells_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("PO,Qty,Date\n007,1.50,N/A\n")
    frame = read_source(path, MAPPING).frame
    assert frame.loc[0].tolist() == ["007", "1.50", "N/A"]


def test_parquet_keeps_types(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    pd.DataFrame({"PO": ["1"], "Date": pd.to_datetime(["2024-01-02"])}).to_parquet(path)
    frame = read_source(path, MAPPING).frame
    assert pd.api.types.is_datetime64_any_dtype(frame["Date"])


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "file is empty"),
        (b"\n\n", "blank.csv", "file is empty"),
        (b"PO,Vendor\n", "header.csv", "header but no data rows"),
        (b"PAR1\x00\x00garbage", "wrong.csv", "looks binary"),
        (b"PO,Vendor\n1,A\n", "wrong.parquet", "not a readable Parquet file"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, name: str, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as info:
        read_source(path, MAPPING)
    assert str(path) in str(info.value)


def test_missing_path_and_folder(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="file not found"):
        read_source(tmp_path / "nope.csv", MAPPING)
    with pytest.raises(IngestError, match="is a folder"):
        read_source(tmp_path, MAPPING)


def test_format_from_magic_bytes_without_suffix(tmp_path: Path) -> None:
    path = tmp_path / "export"
    pd.DataFrame({"PO": ["1"]}).to_parquet(path)
    assert read_source(path, MAPPING).frame["PO"].tolist() == ["1"]


def test_encoding_is_reported_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes("PO;Lieferant\n1;Müller GmbH\n".encode())
    source = read_source(path, MAPPING)
    assert (source.encoding, source.encoding_reason) == ("utf-8", "valid UTF-8")
    assert "encoding utf-8 (valid UTF-8)" in source.describe()
    path.write_bytes("PO;Lieferant\n1;Müller GmbH\n".encode("latin-1"))
    source = read_source(path, MAPPING)
    assert source.encoding == "latin-1"
    assert source.encoding_reason == "not UTF-8 (byte 0xfc on line 2)"
    path.write_bytes("PO;Lieferant\n1;Müller GmbH\n".encode("utf-16"))
    assert read_source(path, MAPPING).frame.loc[0, "Lieferant"] == "Müller GmbH"


def test_utf8_with_a_few_bad_bytes_is_not_read_as_latin1(tmp_path: Path) -> None:
    # Valid UTF-8 (Müller) with two stray bytes: Latin-1 would garble every good name.
    path = tmp_path / "mixed.csv"
    path.write_bytes("PO,Vendor\n1,Müller\n2,SUP".encode() + b"\xff\xfe" + b"\n")
    source = read_source(path, MAPPING)
    assert source.encoding == "utf-8"
    assert "invalid bytes from line 3" in source.encoding_reason
    assert source.frame.loc[0, "Vendor"] == "Müller"
    assert source.frame.loc[1, "Vendor"] == "SUP\udcff\udcfe"


def test_a_nul_byte_inside_a_csv_stays_in_its_cell(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"PO,Vendor\n" + b"".join(b"%d,V%d\n" % (i, i) for i in range(200)) + b"9,SUP\x00\n")
    source = read_source(path, MAPPING)
    assert source.encoding == "utf-8"
    assert source.frame["Vendor"].iloc[-1] == "SUP\x00"
