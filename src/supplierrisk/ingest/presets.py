"""Presets for known export formats: a mapping plus an optional derivation step.

The ``scms`` preset reads the USAID SCMS delivery history bundled with the package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final

import pandas as pd
import yaml

from supplierrisk.ingest.errors import IngestError
from supplierrisk.ingest.mapping import Mapping, parse_mapping
from supplierrisk.schema import ORDER_DATE_SOURCE

SCMS_VENDOR_RDC: Final = "SCMS from RDC"
# Outcomes or facts recorded after shipment: never candidate features.
SCMS_POST_OUTCOME_COLUMNS: Final = (
    "Delivered to Client Date",
    "Delivery Recorded Date",
    "ASN/DN #",
    "Weight (Kilograms)",
    "Freight Cost (USD)",
    "Line Item Insurance (USD)",
)
_SCMS_DATE_FORMAT: Final = "%m/%d/%y"


@dataclass(frozen=True)
class Preset:
    """A known source format."""

    name: str
    description: str
    mapping: Mapping
    derive: Callable[[pd.DataFrame], pd.DataFrame]
    post_outcome_columns: tuple[str, ...]
    bundled_file: str | None = None

    def bundled_path(self) -> Path | None:
        """The data file shipped with the package for this preset, if any."""
        if self.bundled_file is None:
            return None
        return Path(str(resources.files("supplierrisk") / "data" / self.bundled_file))


def _collapse(text: pd.Series) -> pd.Series:
    return text.astype(str).str.strip().str.replace(r"\s+", " ", regex=True)


def derive_scms(raw: pd.DataFrame) -> pd.DataFrame:
    """Add the SCMS preset's derived columns: the real supplier and the order date.

    - ``supplier``: the ``Vendor``, except for rows whose vendor is "SCMS from RDC"
      (shipped from a regional distribution centre), where the real supplier is
      the ``Manufacturing Site``. Whitespace is collapsed; the text is the id.
    - ``order date``: "PO Sent to Vendor Date", else "PQ First Sent to Client Date"
      (both ``%m/%d/%y``), else the scheduled date minus the median promised lead
      time (scheduled − PO sent) of rows with the same shipment mode and fulfilment
      route (overall median when that group has none). ``order_date_source`` says
      which: ``po_sent_to_vendor``, ``pq_first_sent_to_client`` or
      ``imputed_median_lead_time``.
    """
    needed = [
        "Vendor",
        "Manufacturing Site",
        "PO Sent to Vendor Date",
        "PQ First Sent to Client Date",
        "Scheduled Delivery Date",
        "Shipment Mode",
        "Fulfill Via",
    ]
    absent = [c for c in needed if c not in raw.columns]
    if absent:
        raise IngestError(f"SCMS preset: source lacks column(s) {absent}; is this the SCMS export?")
    out = raw.copy()
    vendor = _collapse(raw["Vendor"])
    site = _collapse(raw["Manufacturing Site"])
    out["derived: supplier"] = vendor.where(vendor != SCMS_VENDOR_RDC, site)
    po_sent = pd.to_datetime(raw["PO Sent to Vendor Date"], format=_SCMS_DATE_FORMAT, errors="coerce")
    pq_sent = pd.to_datetime(raw["PQ First Sent to Client Date"], format=_SCMS_DATE_FORMAT, errors="coerce")
    scheduled = pd.to_datetime(raw["Scheduled Delivery Date"], format="%d-%b-%y", errors="coerce")
    lead = (scheduled - po_sent).dt.days
    groups = [raw["Shipment Mode"], raw["Fulfill Via"]]
    median_lead = lead.groupby(groups).transform("median").fillna(lead.median())
    imputed = scheduled - pd.to_timedelta(median_lead.round(), unit="D")
    order = po_sent.fillna(pq_sent).fillna(imputed)
    source = pd.Series("imputed_median_lead_time", index=raw.index, dtype=object)
    source[pq_sent.notna()] = "pq_first_sent_to_client"
    source[po_sent.notna()] = "po_sent_to_vendor"
    source[order.isna()] = None
    out["derived: order date"] = order.dt.strftime("%Y-%m-%d").where(order.notna(), "")
    out[ORDER_DATE_SOURCE] = source
    return out


def _load_preset_mapping(name: str) -> Mapping:
    path = resources.files("supplierrisk") / "presets" / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return parse_mapping(data, f"preset {name}")


def get_preset(name: str) -> Preset:
    """Look up a preset by name."""
    if name == "scms":
        return Preset(
            name="scms",
            description="USAID SCMS delivery history (Supply Chain Shipment Pricing Data)",
            mapping=_load_preset_mapping("scms"),
            derive=derive_scms,
            post_outcome_columns=SCMS_POST_OUTCOME_COLUMNS,
            bundled_file="scms_delivery_history.csv.gz",
        )
    raise IngestError(f"unknown preset {name!r}; known presets: {', '.join(PRESET_NAMES)}")


PRESET_NAMES: Final = ("scms",)
