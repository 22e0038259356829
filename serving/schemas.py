"""Request and response bodies of the API, with the examples shown in its OpenAPI document."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetPydanticSchema,
    ValidationError,
    model_validator,
    with_config,
)
from pydantic_core import CoreSchema, InitErrorDetails
from typing_extensions import TypedDict

from supplierrisk.schema import EXTRA_PREFIX

Band = Literal["low", "medium", "high"]
# pandas keeps dates as nanoseconds since 1970, which reach only the years 1677-2262.
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)

LINE_EXAMPLE: dict[str, Any] = {
    "po_id": "PO-2015-0042",
    "line_id": "1",
    "supplier_id": "Aurobindo Pharma Limited",
    "order_date": "2015-06-01",
    "promised_date": "2015-08-15",
    "category": "ARV",
    "ship_mode": "Air",
    "supplier_country": "India",
    "destination": "Nigeria",
    "quantity_ordered": 12000,
    "unit_price": 2.35,
}


Text = Annotated[str | None, Field(max_length=200)]
Day = Annotated[date, Field(ge=EARLIEST, le=LATEST)]
Amount = Annotated[float | None, Field(ge=0, allow_inf_nan=False)]


def _one_error(source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
    # One clear error for a bad extra value, instead of one per type it failed to be.
    schema = handler(source)
    union: Any = schema["schema"] if schema["type"] == "nullable" else schema
    union["custom_error_type"] = "extra_value"
    union["custom_error_message"] = "an extra field must be a string, a number, true/false or null"
    return schema


ExtraValue = Annotated[str | int | float | bool | None, GetPydanticSchema(_one_error)]


@with_config(ConfigDict(json_schema_extra={"examples": [LINE_EXAMPLE]}))
class OrderLine(TypedDict, extra_items=ExtraValue):  # type: ignore[call-arg]
    """A PO line in canonical field names: four required, the rest optional; ``extra_*`` fields are kept.

    A plain dict after validation, checked by pydantic-core alone: at 1,000 lines a model
    object and a Python validator per line cost more than scoring them. What one field
    cannot check (the promise after the order, the extra fields) ``ScoreRequest`` checks.
    """

    po_id: Annotated[str, Field(min_length=1, max_length=200, description="Purchase order id.")]
    supplier_id: Annotated[
        str, Field(min_length=1, max_length=200, description="Supplier id as in the history.")
    ]
    order_date: Annotated[Day, Field(description="Order date (YYYY-MM-DD).")]
    promised_date: Annotated[Day, Field(description="Promised delivery date, on or after the order date.")]
    line_id: NotRequired[Annotated[str | None, Field(max_length=200, description="Line id within the PO.")]]
    supplier_name: NotRequired[Text]
    supplier_country: NotRequired[Text]
    category: NotRequired[Text]
    item_id: NotRequired[Text]
    currency: NotRequired[Text]
    ship_mode: NotRequired[Text]
    incoterm: NotRequired[Text]
    destination: NotRequired[Text]
    quantity_ordered: NotRequired[Amount]
    unit_price: NotRequired[Amount]
    delivered_date: NotRequired[
        Annotated[Day | None, Field(description="Ignored: outcomes are never features.")]
    ]
    quantity_received: NotRequired[Annotated[Amount, Field(description="Ignored.")]]
    quantity_rejected: NotRequired[Annotated[Amount, Field(description="Ignored.")]]
    invoice_unit_price: NotRequired[Annotated[Amount, Field(description="Ignored.")]]


LINE_FIELDS = frozenset(OrderLine.__annotations__)


def line_problems(lines: list[OrderLine]) -> list[InitErrorDetails]:
    """What no single field can check: a promise before its order, fields neither canonical nor extra."""
    extra = set().union(*lines) - LINE_FIELDS
    unknown = {key for key in extra if not key.startswith(EXTRA_PREFIX)}
    problems: list[InitErrorDetails] = []
    for position, line in enumerate(lines):
        if line["promised_date"] < line["order_date"]:
            message = f"promised_date {line['promised_date']} is before order_date {line['order_date']}"
            problems.append(_problem(("lines", position, "promised_date"), line["promised_date"], message))
        if unknown and not unknown.isdisjoint(line):
            names = sorted(unknown.intersection(line))
            message = (
                f"unknown field(s) {', '.join(names)}: use canonical names, or the prefix"
                f" '{EXTRA_PREFIX}' for extra columns"
            )
            problems.append(_problem(("lines", position), names, message))
    return problems


def _problem(loc: tuple[str | int, ...], value: object, message: str) -> InitErrorDetails:
    return {"type": "value_error", "loc": loc, "input": value, "ctx": {"error": ValueError(message)}}


class ScoreRequest(BaseModel):
    """Lines to score, optionally as of an earlier day, optionally with drivers."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"lines": [LINE_EXAMPLE], "explain": True}]},
    )

    lines: list[OrderLine] = Field(
        min_length=1, description="1 to SUPPLIERRISK_API_MAX_LINES lines (default 10,000); more: 413."
    )
    as_of: Day | None = Field(
        default=None,
        description="Use the supplier history known at the end of this day (default: the store's last day).",
    )
    explain: bool = Field(default=False, description="Add the top drivers per line (slower).")
    top_drivers: int = Field(default=3, ge=1, le=10, description="Drivers per line when explaining.")

    @model_validator(mode="after")
    def _lines_hold_together(self) -> ScoreRequest:
        problems = line_problems(self.lines)
        if problems:
            # Raised as a ValidationError so each problem keeps its own path (lines.<n>.<field>).
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self


class Driver(BaseModel):
    """One reason behind a score, in words, with the feature's value and contribution (log-odds)."""

    feature: str
    value: float | str | None
    contribution: float
    direction: Literal["raises risk", "lowers risk"]
    text: str


LINE_SCORE_EXAMPLE: dict[str, Any] = {
    "po_id": "PO-2015-0042",
    "line_id": "1",
    "supplier_id": "Aurobindo Pharma Limited",
    "p_late": 0.173,
    "risk_band": "low",
    "delay_p50_days": 0.0,
    "delay_p90_days": 9.8,
    "delay_if_late_p50_days": 12.1,
    "delay_if_late_p90_days": 19.6,
    "known_supplier": True,
    "unseen_values": {},
    "drivers": [
        {
            "feature": "sup_late_rate_365d",
            "value": 0.21,
            "contribution": 0.41,
            "direction": "raises risk",
            "text": "estimated on-time delivery 79% over the last 365 days",
        }
    ],
}


class LineScore(BaseModel):
    """The late-delivery forecast of one line."""

    model_config = ConfigDict(json_schema_extra={"examples": [LINE_SCORE_EXAMPLE]})

    po_id: str
    line_id: str | None
    supplier_id: str
    p_late: float = Field(description="Calibrated probability of arriving after the promise (+ tolerance).")
    risk_band: Band
    delay_p50_days: float | None = Field(
        description="Median days after the promise (0 when more likely on time)."
    )
    delay_p90_days: float | None = Field(description="90th percentile of days after the promise.")
    delay_if_late_p50_days: float | None = Field(description="Median delay in days if the line is late.")
    delay_if_late_p90_days: float | None = Field(
        description="90th percentile of the delay if the line is late."
    )
    known_supplier: bool = Field(description="False: no history, scored from category and global rates.")
    unseen_values: dict[str, str] = Field(
        default_factory=dict,
        description="Categorical fields whose value the model never saw (treated as missing).",
    )
    drivers: list[Driver] | None = None


class ModelRef(BaseModel):
    """A registered model version."""

    name: str
    version: str


class ScoreResponse(BaseModel):
    """Scores in the order of the request's lines."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": {"name": "supplierrisk-otd", "version": "3"},
                    "as_of": "2015-09-14",
                    "history_as_of": "2015-09-14",
                    "lines": [LINE_SCORE_EXAMPLE],
                }
            ]
        }
    )

    model: ModelRef
    as_of: date = Field(description="The day whose known supplier history fed the features.")
    history_as_of: date = Field(description="The store's last day at load time.")
    lines: list[LineScore]


class Interval(BaseModel):
    """A rate with its 90% interval and the lines it rests on."""

    value: float | None
    lo: float | None
    hi: float | None
    lines: int | None = None


class SupplierKpis(BaseModel):
    """Key KPIs over the batch window (365 days), rates with 90% intervals."""

    otd_rate: Interval
    otif_rate: Interval
    fill_rate: Interval
    lead_time_mean_days: float | None
    lead_time_p90_days: float | None
    days_late_mean: float | None
    spend: float | None
    spend_share: float | None
    open_lines: int | None
    overdue_lines: int | None


SUPPLIER_EXAMPLE: dict[str, Any] = {
    "supplier_id": "Hetero Unit III Hyderabad IN",
    "main_category": "ARV",
    "supplier_country": "India",
    "p_disruption": 0.52,
    "risk_score": 52,
    "risk_band": "high",
    "expected_late_share_open": 0.24,
    "open_lines_scored": 10,
    "kpis": {
        "otd_rate": {"value": 0.745, "lo": 0.672, "hi": 0.807, "lines": 110},
        "otif_rate": {"value": None, "lo": None, "hi": None, "lines": None},
        "fill_rate": {"value": None, "lo": None, "hi": None, "lines": None},
        "lead_time_mean_days": 228.2,
        "lead_time_p90_days": 358.2,
        "days_late_mean": 18.8,
        "spend": 57739289.0,
        "spend_share": 0.208,
        "open_lines": 11,
        "overdue_lines": 1,
    },
}
BATCH_EXAMPLE: dict[str, Any] = {"batch_id": "20150630-c134c57f3363", "as_of": "2015-06-30"}
MODELS_EXAMPLE: dict[str, Any] = {"otd": "3", "disruption": "2"}


class SupplierSummary(BaseModel):
    """A supplier in a list: disruption risk, open-line outlook and key KPIs."""

    model_config = ConfigDict(json_schema_extra={"examples": [SUPPLIER_EXAMPLE]})

    supplier_id: str
    main_category: str | None
    supplier_country: str | None
    p_disruption: float = Field(description="Probability of a severe disruption in the model's horizon.")
    risk_score: int = Field(description="0-100: the probability in percent.")
    risk_band: Band
    expected_late_share_open: float | None = Field(description="Mean p_late of its open, not-yet-due lines.")
    open_lines_scored: int
    kpis: SupplierKpis


class BatchRef(BaseModel):
    """The batch a view was read from."""

    batch_id: str
    as_of: date


class SupplierPage(BaseModel):
    """One page of suppliers."""

    batch: BatchRef
    models: dict[str, str]
    total: int
    limit: int
    offset: int
    items: list[SupplierSummary]


class QuarterKpis(BaseModel):
    """KPIs of one calendar quarter as known at its end."""

    quarter: str
    quarter_end: date
    otd_rate: Interval
    otif_rate: Interval
    fill_rate: Interval
    lead_time_mean_days: float | None


class CategoryShare(BaseModel):
    """A category the supplier serves."""

    category: str
    spend: float | None
    share_of_category_spend: float | None
    share_of_supplier_spend: float | None
    otd_rate: Interval


class OpenLine(BaseModel):
    """An open, not-yet-due line with its forecast from the batch."""

    po_id: str
    line_id: str | None
    category: str | None
    promised_date: date | None
    open_value: float | None
    p_late: float
    risk_band: Band
    delay_p50_days: float | None
    delay_p90_days: float | None


class SupplierDetail(SupplierSummary):
    """The full supplier view."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **SUPPLIER_EXAMPLE,
                    "batch": BATCH_EXAMPLE,
                    "models": MODELS_EXAMPLE,
                    "drivers": [
                        {
                            "feature": "sup_late_lines_90d",
                            "value": 6.0,
                            "contribution": 0.50,
                            "direction": "raises risk",
                            "text": "6 late deliveries in the last 90 days (category median: 0)",
                        }
                    ],
                    "kpi_trend": [
                        {
                            "quarter": "2015Q2",
                            "quarter_end": "2015-06-30",
                            "otd_rate": {"value": 0.71, "lo": 0.55, "hi": 0.83, "lines": 24},
                            "otif_rate": {"value": None, "lo": None, "hi": None, "lines": 0},
                            "fill_rate": {"value": None, "lo": None, "hi": None, "lines": 0},
                            "lead_time_mean_days": 201.5,
                        }
                    ],
                    "open_lines": [
                        {
                            "po_id": "SO-51260",
                            "line_id": "84475",
                            "category": "ARV",
                            "promised_date": "2015-08-05",
                            "open_value": 82080.0,
                            "p_late": 0.29,
                            "risk_band": "medium",
                            "delay_p50_days": 0.0,
                            "delay_p90_days": 47.0,
                        }
                    ],
                    "categories": [
                        {
                            "category": "ARV",
                            "spend": 57739289.0,
                            "share_of_category_spend": 0.24,
                            "share_of_supplier_spend": 1.0,
                            "otd_rate": {"value": 0.745, "lo": 0.672, "hi": 0.807, "lines": 110},
                        }
                    ],
                }
            ]
        }
    )

    batch: BatchRef
    models: dict[str, str]
    recent_change: str | None = Field(
        default=None, description="The recent late share against the supplier's usual one, in words."
    )
    drivers: list[Driver]
    kpi_trend: list[QuarterKpis]
    open_lines: list[OpenLine]
    categories: list[CategoryShare]


CATEGORY_EXAMPLE: dict[str, Any] = {
    "category": "ARV",
    "otd_rate": {"value": 0.866, "lo": 0.850, "hi": 0.881, "lines": 1299},
    "spend": 243100160.0,
    "spend_share": 0.875,
    "n_suppliers": 30,
    "hhi": 1691.8,
    "single_source": False,
    "open_lines": 209,
    "expected_late_share_open": 0.071,
    "suppliers_high_risk": 1,
    "mean_p_disruption": 0.128,
}


class CategorySummary(BaseModel):
    """A category roll-up."""

    model_config = ConfigDict(json_schema_extra={"examples": [CATEGORY_EXAMPLE]})

    category: str
    otd_rate: Interval
    spend: float | None
    spend_share: float | None
    n_suppliers: int
    hhi: float | None = Field(description="Herfindahl-Hirschman index of supplier spend shares (0-10,000).")
    single_source: bool
    open_lines: int | None
    expected_late_share_open: float | None
    suppliers_high_risk: int | None
    mean_p_disruption: float | None


class CategoryPage(BaseModel):
    """Every category of the batch."""

    batch: BatchRef
    models: dict[str, str]
    items: list[CategorySummary]
    notes: list[str] = Field(
        default_factory=list, description="What the batch could not roll up, and why (e.g. no categories)."
    )


CATEGORY_SUPPLIER_EXAMPLE: dict[str, Any] = {
    "supplier_id": "Mylan (formerly Matrix) Nashik",
    "spend": 73952342.0,
    "spend_share": 0.304,
    "otd_rate": {"value": 0.709, "lo": 0.641, "hi": 0.769, "lines": 134},
    "p_disruption": 0.35,
    "risk_score": 35,
    "risk_band": "medium",
}


class CategorySupplier(BaseModel):
    """A supplier within a category."""

    supplier_id: str
    spend: float | None
    spend_share: float | None = Field(description="Its share of the category's spend.")
    otd_rate: Interval
    p_disruption: float | None
    risk_score: int | None
    risk_band: Band | None


class CategoryDetail(CategorySummary):
    """A category's roll-up with its suppliers and alternatives."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **CATEGORY_EXAMPLE,
                    "batch": BATCH_EXAMPLE,
                    "models": MODELS_EXAMPLE,
                    "suppliers": [CATEGORY_SUPPLIER_EXAMPLE],
                    "replacing": "Mylan (formerly Matrix) Nashik",
                    "alternatives": [
                        {**CATEGORY_SUPPLIER_EXAMPLE, "supplier_id": "CIPLA LIMITED", "risk_band": "low"}
                    ],
                }
            ]
        }
    )

    batch: BatchRef
    models: dict[str, str]
    suppliers: list[CategorySupplier]
    replacing: str | None = Field(description="The supplier the alternatives would replace.")
    alternatives: list[CategorySupplier]


class ModelInfo(BaseModel):
    """A version behind an alias, with provenance and mean backtest metrics."""

    name: str
    alias: str
    version: str
    run_id: str
    training_as_of: str
    data_window: str
    gate_decision: str
    served_candidate: str = Field(
        default="model",
        description="The backtest row served: 'model' (the learned model), 'blend', 'logistic_regression'"
        " or a trailing rate when the learned model did not beat it on this history.",
    )
    served: str = Field(default="", description="What is served and why, in a sentence.")
    backtest: dict[str, dict[str, float]] = Field(
        description="'model', the other candidates and each baseline on the same folds."
    )


class ModelsResponse(BaseModel):
    """Champion and challenger of each model."""

    models: dict[str, dict[str, ModelInfo]]
    loaded: dict[str, str] = Field(description="The champion version each model kind is serving.")


class Ready(BaseModel):
    """Readiness: what is loaded and whether the registry answers."""

    status: Literal["ready", "degraded", "not_ready"]
    models: dict[str, str]
    batch: BatchRef | None
    batch_age_days: int | None
    history_as_of: date | None
    loaded_at: str
    registry_reachable: bool
    auth: Literal["keys", "disabled"]
    problems: list[str]


class DriftResponse(BaseModel):
    """The drift summary of the latest batch; ``available`` is false before the first batch."""

    available: bool
    batch: BatchRef | None
    summary: dict[str, Any] | None


class ReloadResponse(BaseModel):
    """What the service serves after a reload."""

    changed: bool
    models: dict[str, str]
    batch: BatchRef | None
    problems: list[str]


class ErrorBody(BaseModel):
    """An error: ``detail`` says what went wrong."""

    detail: Any


class ShiftBody(BaseModel):
    """Move ``share`` of ``from``'s volume to ``to``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str = Field(alias="from", min_length=1, max_length=400, description="The supplier giving volume.")
    target: str = Field(alias="to", min_length=1, max_length=400, description="The supplier taking it.")
    share: float = Field(ge=0, le=1, description="The share of the giver's volume that moves.")


class PlannedLine(BaseModel):
    """A planned quantity of an item, instead of last period's lines."""

    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=400)
    quantity: float = Field(gt=0)
    supplier_id: str | None = Field(default=None, max_length=400, description="Default: the item's latest.")


SCENARIO_EXAMPLE: dict[str, Any] = {
    "category": "ARV",
    "shifts": [{"from": "SUPPLIER-A", "to": "SUPPLIER-B", "share": 0.3}],
    "horizon_days": 90,
}


class ScenarioRequestBody(BaseModel):
    """A sourcing scenario: a category's demand over a horizon, allocated by target shares or shifts."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SCENARIO_EXAMPLE]})

    category: str = Field(min_length=1, max_length=400)
    as_of: date | None = Field(default=None, description="Default: the latest batch's as-of.")
    horizon_days: int = Field(default=90, ge=7, le=730)
    shares: dict[str, float] | None = Field(
        default=None, description="Target share per supplier, summing to 1."
    )
    shifts: list[ShiftBody] | None = Field(default=None, max_length=200)
    runs: int = Field(default=2000, ge=100, le=20_000, description="Monte Carlo runs.")
    seed: int = Field(default=20151, ge=0, le=2**32 - 1, description="Random seed (results reproduce).")
    planned: list[PlannedLine] | None = Field(default=None, max_length=20_000)
    capacity_multiple: dict[str, float] = Field(default_factory=dict, description="Cap: x peak weekly lines.")
    time_to_recover_days: dict[str, float] = Field(default_factory=dict)
    inventory_cover_days: dict[str, float] = Field(default_factory=dict)
    excluded_items: dict[str, list[str]] = Field(
        default_factory=dict, description="Items a supplier may not take."
    )
    save: bool = Field(
        default=False, description="Store it in the results database; the answer carries its id."
    )


class ScenarioFigures(BaseModel):
    """One arm (baseline or scenario), or their difference (scenario minus baseline)."""

    model_config = ConfigDict(extra="allow")

    expected_late_lines: float
    late_lines_p10: float
    late_lines_p50: float
    late_lines_p90: float
    otd: float | None
    otd_p10: float | None
    otd_p90: float | None
    expected_late_value: float | None = None
    cvar95_late_value: float | None = None
    expected_days_late: float | None = None
    spend: float | None
    hhi: float | None
    single_source: bool = Field(description="In the difference: whether it changed.")
    top_share: float | None = None
    warnings: list[str]


class ScenarioResponse(BaseModel):
    """Baseline, scenario and difference with intervals, per supplier figures, and the run's record."""

    model_config = ConfigDict(extra="allow")

    id: str | None = Field(default=None, description="Set when saved: GET /v1/scenarios/{id}.")
    category: str
    as_of: str
    horizon_days: int
    runs: int
    seed: int
    template_lines: int
    sigma_supplier_week: float
    sigma_period: float
    model_versions: dict[str, str]
    baseline: ScenarioFigures
    scenario: ScenarioFigures
    difference: ScenarioFigures
    suppliers: list[dict[str, Any]]


class SavedScenario(BaseModel):
    """A saved scenario: who and when, its inputs, model versions, seed and result."""

    id: str
    created_at: str
    created_by: str
    category: str
    as_of: str
    seed: int
    model_versions: dict[str, str]
    inputs: dict[str, Any]
    result: ScenarioResponse
