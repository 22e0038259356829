"""``supplierrisk scenario``: what if volume moves between suppliers; ``validate`` replays history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipelines.cli_support import as_of_day, note, user_errors
from supplierrisk.settings import Settings

if TYPE_CHECKING:
    from supplierrisk.scenarios import SupplierOptions

scenario_app = typer.Typer(
    help="Sourcing scenarios: late lines, risk, cost and concentration if volume moves between suppliers.",
    invoke_without_command=True,
)

Category = Annotated[str | None, typer.Option(help="The category whose demand is re-allocated.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
Runs = Annotated[int, typer.Option(min=100, max=100_000, help="Monte Carlo runs.")]


def _pairs(values: list[str] | None, option: str) -> dict[str, float]:
    """``SUPPLIER=NUMBER`` options into a dict."""
    from supplierrisk.scenarios import ScenarioInputError

    out: dict[str, float] = {}
    for text in values or []:
        supplier, eq, number = text.rpartition("=")
        try:
            out[supplier.strip()] = float(number)
        except ValueError:
            eq = ""
        if not eq or not supplier.strip():
            raise ScenarioInputError(f"{option} {text!r} is not SUPPLIER=NUMBER")
    return out


def _options(
    capacity: list[str] | None, recover: list[str] | None, cover: list[str] | None, exclude: list[str] | None
) -> SupplierOptions:
    from supplierrisk.scenarios import ScenarioInputError, SupplierOptions

    excluded: dict[str, set[str]] = {}
    for text in exclude or []:
        supplier, eq, item = text.partition("=")
        if not eq or not supplier.strip() or not item.strip():
            raise ScenarioInputError(f"--exclude {text!r} is not SUPPLIER=ITEM")
        excluded.setdefault(supplier.strip(), set()).add(item.strip())
    return SupplierOptions(
        capacity_multiple=_pairs(capacity, "--capacity"),
        time_to_recover_days=_pairs(recover, "--time-to-recover"),
        inventory_cover_days=_pairs(cover, "--inventory-cover"),
        excluded_items={s: frozenset(items) for s, items in excluded.items()},
    )


@scenario_app.callback()
@user_errors
def scenario(  # noqa: PLR0913 - the command's options, as documented
    ctx: typer.Context,
    category: Category = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: the latest batch's).")
    ] = None,
    horizon_days: Annotated[int, typer.Option(help="Days of demand to allocate.")] = 90,
    shift: Annotated[
        list[str] | None,
        typer.Option(help="FROM=TO:SHARE, the share of FROM's volume moving to TO (repeatable)."),
    ] = None,
    shares: Annotated[str | None, typer.Option(help="Target shares S=SHARE,... summing to 1.")] = None,
    planned: Annotated[
        Path | None,
        typer.Option(help="CSV of planned item_id,quantity[,supplier_id] instead of last period's."),
    ] = None,
    capacity: Annotated[list[str] | None, typer.Option(help="S=MULTIPLE of its peak weekly lines.")] = None,
    time_to_recover: Annotated[
        list[str] | None, typer.Option(help="S=DAYS to recover from a disruption.")
    ] = None,
    inventory_cover: Annotated[list[str] | None, typer.Option(help="S=DAYS of inventory cover.")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="S=ITEM the supplier may not take.")] = None,
    runs: Runs = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (documented default, reproducible).")] = 20151,
    save: Annotated[bool, typer.Option(help="Save it in the results database and print its id.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Baseline against scenario: late lines P10/P50/P90, OTD, late value, spend, HHI, warnings."""
    if ctx.invoked_subcommand is not None:
        return
    import pandas as pd

    from pipelines.scenario import format_scenario, run_scenario_job, save_scenario_result
    from supplierrisk.scenarios import (
        Allocation,
        ScenarioInputError,
        ScenarioRequest,
        parse_shares,
        parse_shift,
    )

    if category is None:
        raise ScenarioInputError("give --category (the category whose volume moves)")
    allocation = Allocation(
        shares=parse_shares(shares) if shares is not None else None,
        shifts=tuple(parse_shift(s) for s in shift or []),
    )
    request = ScenarioRequest(
        category=category,
        allocation=allocation,
        as_of=as_of_day(as_of),
        horizon_days=horizon_days,
        runs=runs,
        seed=seed,
        planned=pd.read_csv(planned) if planned is not None else None,
        options=_options(capacity, time_to_recover, inventory_cover, exclude),
    )
    settings = Settings()
    result = run_scenario_job(settings, request, announce=note)
    payload = result.to_dict()
    if save:
        payload["id"] = save_scenario_result(settings, request, result, "cli")
    if as_json:
        typer.echo(json.dumps(payload, default=str))
        return
    typer.echo(format_scenario(result))
    if save:
        typer.echo(f"saved as scenario {payload['id']}")


@scenario_app.command("validate")
@user_errors
def validate(
    category: Annotated[str, typer.Option(help="A category, or 'all'.")],
    start: Annotated[str, typer.Option("--from", help="First quarter start, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day of the range, YYYY-MM-DD.")],
    runs: Runs = 2000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20151,
    otd_config: Annotated[Path | None, typer.Option(help="Training YAML for the OTD model.")] = None,
    disruption_config: Annotated[
        Path | None, typer.Option(help="Training YAML for the disruption model.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Replay history: at each quarter start, model the actual next quarter and compare with what happened."""
    from pipelines.scenario import format_validation, run_validation_job

    first, last = as_of_day(start, "--from"), as_of_day(end, "--to")
    assert first is not None  # noqa: S101 - a required option
    assert last is not None  # noqa: S101 - a required option
    configs = {"otd": otd_config, "disruption": disruption_config}
    validation = run_validation_job(Settings(), category, first, last, runs, seed, configs, announce=note)
    if as_json:
        typer.echo(json.dumps(validation.to_dict(), default=str))
    else:
        typer.echo(format_validation(validation))
