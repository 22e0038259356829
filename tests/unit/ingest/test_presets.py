import pandas as pd
import pytest

from supplierrisk.ingest import IngestError, get_preset, read_source, to_canonical
from supplierrisk.ingest.presets import SCMS_POST_OUTCOME_COLUMNS, derive_scms


@pytest.fixture(scope="module")
def scms_raw() -> pd.DataFrame:
    preset = get_preset("scms")
    path = preset.bundled_path()
    assert path is not None
    return read_source(path, preset.mapping).frame


def test_bundled_scms_file_has_all_rows(scms_raw: pd.DataFrame) -> None:
    assert scms_raw.shape == (10324, 33)


def test_scms_conversion_accounts_for_every_row(scms_raw: pd.DataFrame) -> None:
    preset = get_preset("scms")
    result = to_canonical(preset.derive(scms_raw), preset.mapping, "scms")
    assert result.rows_read == 10324
    assert result.rows_accepted + result.rows_rejected == 10324
    assert result.rows_rejected > 0
    assert set(result.rejects_by_reason()) <= {"delivered_before_order", "promised_before_order"}
    assert result.accepted["supplier_id"].notna().all()
    assert result.accepted["order_date"].notna().all()


def test_rdc_rows_take_the_manufacturing_site_as_supplier() -> None:
    raw = pd.DataFrame(
        {
            "Vendor": ["SCMS from RDC", "Aurobindo Pharma Limited"],
            "Manufacturing Site": ["Cipla,  Goa, India", "Aurobindo Unit III, India"],
            "PO Sent to Vendor Date": ["N/A - From RDC", "3/15/10"],
            "PQ First Sent to Client Date": ["2/1/10", "Pre-PQ Process"],
            "Scheduled Delivery Date": ["1-Apr-10", "1-May-10"],
            "Shipment Mode": ["Air", "Air"],
            "Fulfill Via": ["From RDC", "Direct Drop"],
        }
    )
    out = derive_scms(raw)
    assert out["derived: supplier"].tolist() == ["Cipla, Goa, India", "Aurobindo Pharma Limited"]
    assert out["derived: order date"].tolist() == ["2010-02-01", "2010-03-15"]
    assert out["order_date_source"].tolist() == ["pq_first_sent_to_client", "po_sent_to_vendor"]


def test_order_date_fallback_is_median_lead_time_of_mode_and_route() -> None:
    raw = pd.DataFrame(
        {
            "Vendor": ["A", "A", "A", "A"],
            "Manufacturing Site": ["s", "s", "s", "s"],
            "PO Sent to Vendor Date": ["1/1/10", "1/1/10", "Date Not Captured", "Date Not Captured"],
            "PQ First Sent to Client Date": ["Pre-PQ Process"] * 4,
            "Scheduled Delivery Date": ["11-Jan-10", "31-Jan-10", "31-Mar-10", "31-Mar-10"],
            "Shipment Mode": ["Air", "Air", "Air", "Ocean"],
            "Fulfill Via": ["Direct Drop"] * 4,
        }
    )
    out = derive_scms(raw)
    # Air/Direct Drop leads are 10 and 30 days: median 20. Ocean has none: overall median 20.
    assert out["derived: order date"].tolist()[2:] == ["2010-03-11", "2010-03-11"]
    assert out["order_date_source"].tolist()[2:] == ["imputed_median_lead_time"] * 2


def test_post_outcome_columns_are_never_carried_as_features() -> None:
    preset = get_preset("scms")
    carried = {extra.column for extra in preset.mapping.extra_columns.values()}
    assert not carried & set(SCMS_POST_OUTCOME_COLUMNS)
    # Delivered to Client Date feeds only the outcome field delivered_date.
    mapped = {v: k for k, v in preset.mapping.columns.items()}
    assert mapped["Delivered to Client Date"] == "delivered_date"
    assert not {"Delivery Recorded Date", "Weight (Kilograms)", "Freight Cost (USD)"} & set(mapped)


def test_scms_messy_values_do_not_reject_rows(scms_raw: pd.DataFrame) -> None:
    preset = get_preset("scms")
    result = to_canonical(preset.derive(scms_raw), preset.mapping, "scms")
    messy = scms_raw["Freight Cost (USD)"].str.contains("See ASN|Freight Included", regex=True)
    messy_rows = set(scms_raw.index[messy] + 1)
    rejected_for_numbers = result.rejects.loc[result.rejects["reason"] == "unparseable_number", "source_row"]
    assert messy_rows
    assert not messy_rows & set(rejected_for_numbers)
    ship_modes = set(result.accepted["ship_mode"].dropna())
    assert "N/A" not in ship_modes
    assert "N/A - From RDC" not in set(result.accepted["incoterm"].dropna())


def test_unknown_preset_and_wrong_file() -> None:
    with pytest.raises(IngestError, match="unknown preset 'sap'"):
        get_preset("sap")
    with pytest.raises(IngestError, match="is this the SCMS export"):
        derive_scms(pd.DataFrame({"PO": ["1"]}))
