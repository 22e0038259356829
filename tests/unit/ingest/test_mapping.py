from pathlib import Path

import pytest

from supplierrisk.ingest import IngestError, load_mapping
from supplierrisk.ingest.mapping import parse_mapping


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_mapping_reads_formats_constants_and_extras(tmp_path: Path) -> None:
    mapping = load_mapping(
        write(
            tmp_path,
            """
delimiter: ";"
columns: {po_id: Bestellung, supplier_id: Lieferant, order_date: Datum, promised_date: Termin}
date_formats: {order_date: "%d.%m.%Y", promised_date: ["%d.%m.%Y", "%Y-%m-%d"]}
constants: {currency: EUR}
missing_values: ["#"]
extra_columns: {payment_terms: {column: ZTerm, type: categorical}}
""",
        )
    )
    assert mapping.delimiter == ";"
    assert mapping.formats_for("order_date") == ["%d.%m.%Y"]
    assert mapping.formats_for("promised_date") == ["%d.%m.%Y", "%Y-%m-%d"]
    assert mapping.formats_for("delivered_date") == ["ISO8601"]
    assert "#" in mapping.missing_tokens()
    assert "N/A" in mapping.missing_tokens()
    assert mapping.extra_columns["payment_terms"].type == "categorical"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: {vendor: X}", "columns"),
        ("columns: {po_id: A}\ndate_formats: {po_id: '%Y'}", "date_formats"),
        ("columns: {po_id: A}\nconstants: {po_id: B}", "both a column and a constant"),
        ("columns: {po_id: A}\nconstants: {order_date: '2020-01-01'}", "text fields only"),
        ("colums: {po_id: A}", "colums"),
        ("extra_columns: {Bad-Name: {column: A, type: categorical}}", "lower-case identifier"),
        ("extra_columns: {ok: {column: A, type: text}}", "extra_columns.ok.type"),
        ("- just\n- a list", "must be a YAML mapping"),
    ],
)
def test_bad_mapping_names_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(IngestError, match=message) as info:
        load_mapping(path)
    assert str(path) in str(info.value)


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not valid YAML"):
        load_mapping(write(tmp_path, "columns: {po_id: [unclosed"))
    with pytest.raises(IngestError, match="cannot read mapping file"):
        load_mapping(tmp_path / "absent.yaml")


def test_required_fields_must_be_mapped() -> None:
    mapping = parse_mapping({"columns": {"po_id": "A", "supplier_id": "B", "order_date": "C"}}, "m.yaml")
    with pytest.raises(IngestError, match=r"required field\(s\) \['promised_date'\]"):
        mapping.check_required("export.csv", provided=set())
    mapping.check_required("export.csv", provided={"promised_date"})
