"""Ingestion of ERP exports into the canonical history: read, validate, plan, then commit or refuse."""

from supplierrisk.ingest.errors import IngestError, IngestRefusedError
from supplierrisk.ingest.mapping import ExtraColumn, Mapping, load_mapping
from supplierrisk.ingest.plan import IngestOptions, IngestPlan, Refusal, plan_ingest
from supplierrisk.ingest.presets import PRESET_NAMES, Preset, get_preset
from supplierrisk.ingest.reader import Source, read_source
from supplierrisk.ingest.report import COMMITTED, DRY_RUN, REFUSED, IngestReport
from supplierrisk.ingest.upsert import UpsertCounts, UpsertPlan, plan_upsert, upsert_history
from supplierrisk.ingest.validate import Conversion, to_canonical

__all__ = [
    "COMMITTED",
    "DRY_RUN",
    "REFUSED",
    "Conversion",
    "ExtraColumn",
    "IngestError",
    "IngestOptions",
    "IngestPlan",
    "IngestRefusedError",
    "IngestReport",
    "PRESET_NAMES",
    "Preset",
    "Refusal",
    "Source",
    "UpsertCounts",
    "UpsertPlan",
    "get_preset",
    "Mapping",
    "load_mapping",
    "plan_ingest",
    "plan_upsert",
    "read_source",
    "to_canonical",
    "upsert_history",
]
