"""Ingestion of ERP exports into the canonical history: mapping, reading, validation, upsert."""

from supplierrisk.ingest.errors import IngestError
from supplierrisk.ingest.mapping import ExtraColumn, Mapping, load_mapping
from supplierrisk.ingest.presets import PRESET_NAMES, Preset, get_preset
from supplierrisk.ingest.reader import read_source
from supplierrisk.ingest.report import IngestReport
from supplierrisk.ingest.upsert import UpsertCounts, upsert_history
from supplierrisk.ingest.validate import Conversion, to_canonical

__all__ = [
    "Conversion",
    "ExtraColumn",
    "IngestError",
    "IngestReport",
    "PRESET_NAMES",
    "Preset",
    "get_preset",
    "Mapping",
    "UpsertCounts",
    "load_mapping",
    "read_source",
    "to_canonical",
    "upsert_history",
]
