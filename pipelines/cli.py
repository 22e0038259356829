"""The ``supplierrisk`` command: a typer app whose subcommands call the pipelines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from pipelines.cli_db import db_app
from pipelines.cli_scenario import scenario_app
from pipelines.cli_support import (
    EXIT_AS_OF_OUTSIDE_DATA as EXIT_AS_OF_OUTSIDE_DATA,
)
from pipelines.cli_support import (
    EXIT_EMPTY_STORE as EXIT_EMPTY_STORE,
)
from pipelines.cli_support import (
    EXIT_INGEST_REFUSED as EXIT_INGEST_REFUSED,
)
from pipelines.cli_support import (
    EXIT_LOCKED as EXIT_LOCKED,
)
from pipelines.cli_support import (
    EXIT_NO_CHAMPION as EXIT_NO_CHAMPION,
)
from pipelines.cli_support import (
    EXIT_REGISTRY_UNREACHABLE as EXIT_REGISTRY_UNREACHABLE,
)
from pipelines.cli_support import (
    EXIT_RETRAIN_FAILED as EXIT_RETRAIN_FAILED,
)
from pipelines.cli_support import (
    EXIT_USER_ERROR as EXIT_USER_ERROR,
)
from pipelines.cli_support import (
    as_of_day,
    exit_codes,
    note,
    user_errors,
)
from supplierrisk.ingest import PRESET_NAMES
from supplierrisk.settings import Settings

app = typer.Typer(
    help="Supplier risk and performance: ingest PO history, KPI scorecards, synthetic data, demo.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

train_app = typer.Typer(help="Train a model, backtest it against baselines, register it, run the gate.")
predict_app = typer.Typer(help="Score with the champion model.")
promote_app = typer.Typer(help="Promote a registered model version to champion by hand.")
keys_app = typer.Typer(help="API keys for the service: create (shown once), list, revoke.")
# Set by the --quiet option for the whole command line (the score stage lines read it too).
_OUTPUT = {"quiet": False}


@app.callback()
def options(
    ctx: typer.Context,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No progress bars or progress lines; results and errors still print."
        ),
    ] = False,
) -> None:
    """Supplier risk and performance: ingest PO history, KPI scorecards, models, batch, service."""
    from supplierrisk.progress import reporting

    _OUTPUT["quiet"] = quiet
    # Bars with an ETA on a terminal, plain lines every few seconds otherwise (cron, CI).
    ctx.with_resource(reporting(quiet))


app.add_typer(train_app, name="train")
app.add_typer(predict_app, name="predict")
app.add_typer(promote_app, name="promote")
app.add_typer(keys_app, name="keys")
app.add_typer(scenario_app, name="scenario")
app.add_typer(db_app, name="db")

TABLE_COLUMNS = (
    "supplier_id",
    "category",
    "otd_lines",
    "otd_rate",
    "otd_rate_lo",
    "otd_rate_hi",
    "otif_rate",
    "fill_rate",
    "lead_time_mean_days",
    "lead_time_p90_days",
    "days_late_mean",
    "spend",
    "spend_share",
    "n_suppliers",
    "hhi",
    "single_source",
    "open_lines",
    "overdue_lines",
    "score",
)


@app.command()
@user_errors
def ingest(
    source: Annotated[Path, typer.Argument(help="CSV or Parquet export to load.")],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="Mapping YAML (see README).")
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help=f"A known format instead of a mapping: {', '.join(PRESET_NAMES)}.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan (what would change) and write nothing.")
    ] = False,
    max_reject_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Refuse the run when more of its rows are rejected.")
    ] = 0.05,
    max_promise_change_share: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Refuse when more of the stored lines it updates move their promise."
        ),
    ] = 0.10,
    allow_history_rewrite: Annotated[
        bool,
        typer.Option(
            help="Accept changes to stored order dates, suppliers, quantities, deliveries, promises."
        ),
    ] = False,
    trust_date_formats: Annotated[
        bool, typer.Option(help="Accept date formats that look day/month swapped.")
    ] = False,
) -> None:
    """Load an ERP export into the store: plan first, refuse suspicious runs, rejects go to a file.

    Exit codes: 0 done (or dry run that would commit), 2 bad input, 8 refused (store untouched).
    """
    from pipelines.ingest import run_ingest
    from supplierrisk.ingest import IngestOptions, IngestRefusedError

    options = IngestOptions(
        max_reject_share, max_promise_change_share, allow_history_rewrite, trust_date_formats
    )
    try:
        report = run_ingest(source, Settings(), mapping, preset, options, dry_run)
    except IngestRefusedError as exc:
        refused = exc.report
        typer.echo(refused.to_json() if as_json else refused.format_text())  # type: ignore[attr-defined]
        typer.echo(f"error: ingest refused, store untouched: {exc}", err=True)
        raise typer.Exit(EXIT_INGEST_REFUSED) from None
    typer.echo(report.to_json() if as_json else report.format_text())
    if dry_run and report.refusals:
        raise typer.Exit(EXIT_INGEST_REFUSED)


@app.command()
@user_errors
def kpis(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Day the scorecard is as of, YYYY-MM-DD (default: the store's last day)."
        ),
    ] = None,
    window: Annotated[
        int, typer.Option(help="Window in days: lines promised in (as-of - window, as-of].")
    ] = 365,
    by: Annotated[str, typer.Option(help="supplier | category | supplier,category")] = "supplier",
    output_format: Annotated[str, typer.Option("--format", help="table | csv | json")] = "table",
    scorecard: Annotated[Path | None, typer.Option(help="Scorecard YAML (criteria and weights).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of the terminal.")] = None,
) -> None:
    """Supplier scorecards: OTD, OTIF, lead time, fill, rejects, price variance, spend, concentration."""
    from pipelines.kpis import run_kpis
    from supplierrisk.kpis import empty_reason
    from supplierrisk.storage import write_text

    if output_format not in ("table", "csv", "json"):
        raise ValueError(f"--format must be table, csv or json, not {output_format!r}")
    if window <= 0:
        raise ValueError("--window must be a positive number of days")
    result = run_kpis(Settings(), as_of_day(as_of), window, by, scorecard, announce=note)
    table = result.table
    reason = empty_reason(result, window)
    if reason is not None and output_format == "table":
        typer.echo(reason)
        return
    if output_format == "csv":
        text = table.to_csv(index=False)
    elif output_format == "json":
        records = json.loads(table.to_json(orient="records", date_format="iso"))
        text = json.dumps({"kpis": records, "skipped": result.skipped}, indent=2)
    else:
        shown = [c for c in TABLE_COLUMNS if c in table.columns]
        text = table[shown].to_string(index=False, float_format=lambda v: f"{v:.3g}")
        if result.skipped:
            text += "\n" + "\n".join(f"skipped {k}: {why}" for k, why in result.skipped.items())
    if out is not None:
        write_text(text, out)
        typer.echo(f"wrote {len(table)} rows to {out}")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
@user_errors
def synth(
    out: Annotated[Path, typer.Option(help="Folder for history.parquet, truth.parquet, episodes.parquet.")],
    suppliers: Annotated[int, typer.Option(min=1, help="Number of suppliers.")] = 200,
    years: Annotated[float, typer.Option(min=0.1, help="Years of history.")] = 3.0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same history).")] = 0,
    lines_per_supplier_per_year: Annotated[
        float, typer.Option(min=1.0, help="Mean PO lines per supplier per year.")
    ] = 60.0,
    drift: Annotated[bool, typer.Option(help="Change the process in the last months.")] = False,
) -> None:
    """Write a synthetic canonical history with the true late probability of every line."""
    from supplierrisk.synth import SynthConfig, generate_history, write_synth

    config = SynthConfig(
        suppliers=suppliers,
        years=years,
        seed=seed,
        lines_per_supplier_per_year=lines_per_supplier_per_year,
        drift=drift,
    )
    result = generate_history(config)
    paths = write_synth(result, out)
    typer.echo(
        f"{len(result.history)} lines from {suppliers} suppliers, export date {result.export_date.date()}"
    )
    for name, path in paths.items():
        typer.echo(f"  {name}: {path}")


@app.command()
@user_errors
def demo(
    as_of: Annotated[str, typer.Option("--as-of", help="Scorecard date for the demo.")] = "2015-06-30",
    top: Annotated[int, typer.Option(help="Suppliers to show.")] = 15,
) -> None:
    """Ingest the bundled SCMS history and print supplier and category scorecards."""
    from pipelines.demo import run_demo

    day = as_of_day(as_of)
    assert day is not None  # noqa: S101 - the option has a default
    typer.echo(run_demo(Settings(), day, top))


def _train(kind: str, as_of: str | None, config: Path | None) -> None:
    from pipelines.train import run_train

    report = run_train(Settings(), kind, as_of_day(as_of), config, announce=note)
    typer.echo(report.format_text())


AsOfTrain = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Train on what was known on this day, YYYY-MM-DD (default: the store's last day)."
    ),
]
TrainConfigPath = Annotated[Path | None, typer.Option(help="Training YAML (defaults built in).")]


@train_app.command("otd")
@user_errors
def train_otd(as_of: AsOfTrain = None, config: TrainConfigPath = None) -> None:
    """Train the on-time-delivery model; it becomes challenger, and champion if it passes the gate."""
    _train("otd", as_of, config)


@train_app.command("disruption")
@user_errors
def train_disruption(as_of: AsOfTrain = None, config: TrainConfigPath = None) -> None:
    """Train the disruption-risk model on monthly supplier snapshots; same gate as the OTD model."""
    _train("disruption", as_of, config)


@predict_app.command("otd")
@user_errors
def predict_otd(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Score lines open on this day, YYYY-MM-DD (default: the store's last day)."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="CSV or Parquet (by suffix) to write.")] = None,
) -> None:
    """Score every open, not-yet-due line with the OTD champion."""
    from pipelines.predict import run_predict_otd

    scored = run_predict_otd(Settings(), as_of_day(as_of), out, announce=note)
    if out is not None:
        typer.echo(f"wrote {len(scored)} scored lines to {out}")
    elif scored.empty:
        typer.echo(scored.attrs.get("empty_reason", "no open line to score"))
    else:
        typer.echo(scored.to_string(index=False, float_format=lambda v: f"{v:.3g}"))


@predict_app.command("disruption")
@user_errors
def predict_disruption(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Score suppliers active on this day, YYYY-MM-DD (default: the store's last day)."
        ),
    ] = None,
    category: Annotated[
        str | None, typer.Option(help="Only suppliers that served this category in the last year.")
    ] = None,
    top: Annotated[int | None, typer.Option(min=1, help="Only the N riskiest suppliers.")] = None,
    out: Annotated[Path | None, typer.Option(help="CSV or Parquet (by suffix) to write.")] = None,
) -> None:
    """Disruption probability, 0-100 risk score, band and top 3 drivers per active supplier."""
    from pipelines.predict import format_supplier_risk, run_predict_disruption

    scored = run_predict_disruption(Settings(), as_of_day(as_of), category, out, top, announce=note)
    if out is not None:
        typer.echo(f"wrote {len(scored)} scored suppliers to {out}")
    elif scored.empty:
        typer.echo(
            "no supplier is active on that day (none ordered in the year before it or had open lines):"
            " choose another --as-of"
        )
    else:
        typer.echo(format_supplier_risk(scored))


@app.command()
@user_errors
def models() -> None:
    """List registered versions with aliases and key backtest metrics."""
    from supplierrisk.tracking import MODEL_NAMES, connect, list_versions

    table = list_versions(connect(Settings()), list(MODEL_NAMES.values()))
    if table.empty:
        typer.echo(
            "no registered models yet: run 'supplierrisk train otd' or 'supplierrisk train disruption'"
        )
        return
    typer.echo(table.drop(columns=["run_id"]).to_string(index=False, float_format=lambda v: f"{v:.4f}"))


PromoteVersion = Annotated[int, typer.Option(help="Registered version to make champion.")]
PromoteReason = Annotated[str, typer.Option(help="Why (recorded on the version).")]
PromoteWho = Annotated[str | None, typer.Option(help="Who (default: the current user).")]


def _promote(kind: str, version: int, reason: str, who: str | None) -> None:
    from supplierrisk.tracking import MODEL_NAMES, connect, promote

    name = MODEL_NAMES[kind]
    client = connect(Settings())
    try:
        promote(client, name, str(version), reason, who)
    except Exception as exc:  # noqa: BLE001 - registry errors become one clear line
        raise ValueError(f"cannot promote {name} version {version}: {exc}") from None
    typer.echo(f"{name} version {version} is now champion ({reason})")


@promote_app.command("otd")
@user_errors
def promote_otd(
    version: PromoteVersion, reason: PromoteReason = "manual promotion", who: PromoteWho = None
) -> None:
    """Promote a version of supplierrisk-otd to champion by hand."""
    _promote("otd", version, reason, who)


@promote_app.command("disruption")
@user_errors
def promote_disruption(
    version: PromoteVersion, reason: PromoteReason = "manual promotion", who: PromoteWho = None
) -> None:
    """Promote a version of supplierrisk-disruption to champion by hand."""
    _promote("disruption", version, reason, who)


def _progress(stage: str, fields: dict[str, object]) -> None:
    """Readable lines on a terminal; one structured key=value line per stage otherwise (for log tools)."""
    if _OUTPUT["quiet"]:
        return
    if sys.stderr.isatty():
        detail = ", ".join(f"{k} {v}" for k, v in fields.items())
        typer.echo(f"[{stage}] {detail}", err=True)
    else:
        now = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        pairs = " ".join(f"{k}={json.dumps(v, default=str)}" for k, v in fields.items())
        typer.echo(f"ts={now} level=INFO job=score stage={stage} {pairs}", err=True)


@app.command()
@user_errors
def score(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Score as of this day, YYYY-MM-DD (default: the store's last day)."),
    ] = None,
    keep: Annotated[int | None, typer.Option(min=1, help="Keep only the last N batches.")] = None,
    auto_retrain: Annotated[
        bool, typer.Option("--auto-retrain", help="Retrain both models when the policy recommends it.")
    ] = False,
) -> None:
    """Nightly batch: score open lines and active suppliers with the champions, roll up, publish.

    Exit codes: 0 done, 2 bad input, 3 a model has no champion, 4 empty store,
    5 as-of outside the data, 6 another batch is running, 7 MLflow unreachable,
    9 the batch was published but --auto-retrain failed.
    """
    from pipelines.score import run_score

    report = run_score(Settings(), as_of_day(as_of), keep, _progress, announce=note)
    typer.echo(report.format_text())
    policy = report.retrain
    if policy:
        typer.echo(
            f"retrain: {'recommended' if policy['recommended'] else 'not needed'}"
            f" ({'; '.join(policy['reasons']) or 'no trigger'})"
        )
    if auto_retrain and policy and policy["recommended"]:
        from pipelines.train import format_retrain, run_retrain

        try:
            typer.echo(format_retrain(run_retrain(Settings())))
        except Exception as exc:
            if not any(isinstance(exc, error) for error, _ in exit_codes()):
                raise
            # The batch is published; only the retrain failed, and the scheduler can tell the two apart.
            typer.echo(f"error: batch published, but the retrain failed: {exc}", err=True)
            raise typer.Exit(EXIT_RETRAIN_FAILED) from None


@app.command()
@user_errors
def drift(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The batch of this as-of (default: latest).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full summary as JSON.")] = False,
) -> None:
    """Print the drift summary of the latest batch: features, scores, unseen values, retrain advice."""
    from pipelines.monitor import format_drift
    from supplierrisk.monitoring.checks import latest_drift_summary

    summary = latest_drift_summary(Settings(), as_of_day(as_of))
    typer.echo(json.dumps(summary, indent=2, default=str) if as_json else format_drift(summary))


@app.command()
@user_errors
def monitor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
) -> None:
    """Check past batches' predictions against the outcomes known now, beside the backtest figures."""
    from pipelines.monitor import format_monitor, run_monitor

    report = run_monitor(Settings())
    typer.echo(json.dumps(report, indent=2, default=str) if as_json else format_monitor(report))


RetrainConfig = Annotated[Path | None, typer.Option(help="Training YAML for this model (defaults built in).")]


@app.command()
@user_errors
def retrain(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Train on what was known then, YYYY-MM-DD (default: the store's last day)."
        ),
    ] = None,
    config_otd: RetrainConfig = None,
    config_disruption: RetrainConfig = None,
) -> None:
    """Retrain both models on the latest data; the gates promote each challenger or keep the champion."""
    from pipelines.train import format_retrain, run_retrain

    configs = {"otd": config_otd, "disruption": config_disruption}
    typer.echo(format_retrain(run_retrain(Settings(), as_of_day(as_of), announce=note, configs=configs)))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each loads the models).")] = 1,
) -> None:
    """Start the API and the workspace (/ui/) on uvicorn: champions and the latest batch load at start.

    API keys are required (create one with 'supplierrisk keys create'); set
    SUPPLIERRISK_API_AUTH_DISABLED=1 only for local development.
    """
    import uvicorn

    from serving.observability import log_config

    settings = Settings()
    if settings.api_auth_disabled:
        typer.echo(
            "WARNING: API auth is DISABLED (SUPPLIERRISK_API_AUTH_DISABLED): development only", err=True
        )
    # One JSON line per request on stderr (supplierrisk.access, with its request id) instead of
    # uvicorn's access log.
    uvicorn.run(
        "serving.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=log_config(),
        access_log=False,
    )


@keys_app.command("create")
@user_errors
def keys_create(
    role: Annotated[str, typer.Option(help="viewer (read and score) or admin (also reload).")],
    name: Annotated[
        str | None, typer.Option(help="A name to list and revoke it by (default role-N).")
    ] = None,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    from supplierrisk.service.apikeys import create_key

    settings = Settings()
    key, record = create_key(settings.keys_path, role, name)
    typer.echo(key)
    typer.echo(
        f"created {record.role} key '{record.name}' in {settings.keys_path}; it is not shown again", err=True
    )
    typer.echo(
        "log in to the workspace with it at http://127.0.0.1:8000/ui/login (after 'supplierrisk serve';"
        " your host and port if you changed them), or send it to the API in the X-API-Key header",
        err=True,
    )


@keys_app.command("list")
@user_errors
def keys_list() -> None:
    """Name, role and creation time of every key (never the keys)."""
    from supplierrisk.service.apikeys import load_keys

    settings = Settings()
    keys = load_keys(settings.keys_path)
    if not keys:
        typer.echo(f"no keys in {settings.keys_path}")
    for key in keys:
        typer.echo(f"{key.name}\t{key.role}\t{key.created_at}")


@keys_app.command("revoke")
@user_errors
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Remove a key; a running service refuses it from its next request on."""
    from supplierrisk.service.apikeys import revoke_key

    settings = Settings()
    record = revoke_key(settings.keys_path, name)
    typer.echo(f"revoked {record.role} key '{record.name}'")


@app.command("mlflow-ui")
def mlflow_ui(
    port: Annotated[int, typer.Option(help="Port for the MLflow UI.")] = 5000,
) -> None:
    """Open the MLflow UI on the configured tracking store."""
    import subprocess

    from supplierrisk.settings import display_url

    settings = Settings()
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        settings.tracking_uri,
        "--port",
        str(port),
    ]
    shown = [display_url(part) if part == settings.tracking_uri else part for part in command]
    typer.echo("running: " + " ".join(shown))
    raise typer.Exit(subprocess.call(command))  # noqa: S603 - our own interpreter and arguments


def main() -> None:
    """Entry point of the ``supplierrisk`` script."""
    import logging
    import os

    from supplierrisk.logs import route_warnings_to

    # MLflow's own chatter (registrations, pickling notes, progress bars) would bury our output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    # Library warnings (scikit-learn, LightGBM, pandas) go to the run's log, not between our lines.
    route_warnings_to(Settings().log_path)
    app()
