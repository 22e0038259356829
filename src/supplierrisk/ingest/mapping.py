"""The mapping file: how a source export's columns, formats and constants become canonical fields."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from supplierrisk.ingest.errors import IngestError
from supplierrisk.schema import CANONICAL_FIELDS, DATE_FIELDS, NUMERIC_FIELDS, REQUIRED_FIELDS
from supplierrisk.yamlfile import read_yaml_mapping

# Text that means "no value" in most exports; a mapping may add its own.
DEFAULT_MISSING_VALUES: tuple[str, ...] = (
    "",
    "NA",
    "N/A",
    "n/a",
    "#N/A",
    "NULL",
    "null",
    "None",
    "none",
    "NaN",
    "nan",
    "-",
)


class ExtraColumn(BaseModel):
    """A source column carried along as a candidate model feature (stored as ``extra_<name>``)."""

    model_config = ConfigDict(extra="forbid")

    column: str
    type: Literal["categorical", "numeric"]


class Mapping(BaseModel):
    """A validated mapping file. See the README section "The mapping file"."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "parquet", "excel"] | None = None
    sheet: str | int | None = None
    delimiter: str | None = None
    encoding: str | None = None
    decimal: str = "."
    thousands: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    date_formats: dict[str, str | list[str]] = Field(default_factory=dict)
    constants: dict[str, str | float | int] = Field(default_factory=dict)
    missing_values: list[str] = Field(default_factory=list)
    extra_columns: dict[str, ExtraColumn] = Field(default_factory=dict)
    receipts: Literal["reject_duplicates", "aggregate"] = "reject_duplicates"
    control_characters: Literal["reject", "strip"] = "reject"

    @field_validator("columns", "constants")
    @classmethod
    def _canonical_keys(cls, value: dict[str, object]) -> dict[str, object]:
        unknown = sorted(set(value) - set(CANONICAL_FIELDS))
        if unknown:
            raise ValueError(f"unknown canonical field(s) {unknown}; known: {list(CANONICAL_FIELDS)}")
        return value

    @field_validator("date_formats")
    @classmethod
    def _date_keys(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        unknown = sorted(set(value) - set(DATE_FIELDS))
        if unknown:
            raise ValueError(f"date formats given for non-date field(s) {unknown}")
        return value

    @field_validator("extra_columns")
    @classmethod
    def _extra_names(cls, value: dict[str, ExtraColumn]) -> dict[str, ExtraColumn]:
        for name in value:
            if not name.isidentifier() or name != name.lower():
                raise ValueError(f"extra column name {name!r} must be a lower-case identifier")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Mapping:
        both = sorted(set(self.columns) & set(self.constants))
        if both:
            raise ValueError(f"field(s) {both} are given both a column and a constant")
        bad_constants = sorted(set(self.constants) & (set(DATE_FIELDS) | set(NUMERIC_FIELDS)))
        if bad_constants:
            raise ValueError(f"constants are for text fields only, not {bad_constants}")
        return self

    def formats_for(self, field: str) -> list[str]:
        """The date formats to try for ``field``, in order (ISO 8601 when none are given)."""
        given = self.date_formats.get(field)
        if given is None:
            return ["ISO8601"]
        return [given] if isinstance(given, str) else list(given)

    def missing_tokens(self) -> frozenset[str]:
        """Every text value that means missing for this source."""
        return frozenset(DEFAULT_MISSING_VALUES) | {v.strip() for v in self.missing_values}

    def check_required(self, source: str, provided: set[str]) -> None:
        """Fail unless every required field is mapped, constant or provided by a preset."""
        have = set(self.columns) | set(self.constants) | provided
        missing = [f for f in REQUIRED_FIELDS if f not in have]
        if missing:
            raise IngestError(
                f"{source}: mapping gives no column for required field(s) {missing} "
                f"(add them under 'columns:')"
            )


def parse_mapping(data: object, origin: str) -> Mapping:
    """Validate a mapping already loaded from YAML; errors name ``origin`` and the entry."""
    if not isinstance(data, dict):
        raise IngestError(
            f"{origin}: a mapping must be a YAML mapping (key: value), got {type(data).__name__}"
        )
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        entry = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise IngestError(f"{origin}: mapping entry '{entry}': {first['msg']}") from None


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping YAML file."""
    return parse_mapping(read_yaml_mapping(path, "mapping file", IngestError), str(path))
