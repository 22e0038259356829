"""MLflow tracking and registry: connect, log training runs, register, alias, list and promote.

Promotion uses registry aliases (``challenger``, ``champion``), never stages.
The default store is SQLite in the data home with artifacts beside it; any
tracking URI works the same.
"""

from __future__ import annotations

import getpass
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from supplierrisk.logs import one_line
from supplierrisk.modeling.pyfunc import ModelPyfunc, save_model_object
from supplierrisk.settings import Settings, display_url

OTD_MODEL_NAME = "supplierrisk-otd"
DISRUPTION_MODEL_NAME = "supplierrisk-disruption"
MODEL_NAMES = {"otd": OTD_MODEL_NAME, "disruption": DISRUPTION_MODEL_NAME}
CHAMPION = "champion"
CHALLENGER = "challenger"
_PIP_PACKAGES = ("mlflow", "lightgbm", "scikit-learn", "pandas", "numpy", "pyarrow", "joblib")


class TrackingError(RuntimeError):
    """The tracking server or registry cannot be used."""


class MissingChampionError(TrackingError):
    """A model has no version under the requested alias."""


def connect(settings: Settings) -> MlflowClient:
    """Point MLflow at the configured URI and check it answers, failing fast with the URI."""
    uri = settings.tracking_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if uri.startswith(("http://", "https://")):
        # A dead server should fail in seconds, not after minutes of retries.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    _probe_database(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        # A database-backed store connects when the first client of a process is made.
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        client.search_experiments(max_results=1)
    except Exception as exc:  # noqa: BLE001 - any failure here means the URI is unusable
        raise _unreachable(uri, exc) from None
    return client


_SERVER_DATABASES = ("postgresql", "mysql", "mssql")


def _unreachable(uri: str, exc: BaseException) -> TrackingError:
    return TrackingError(f"MLflow tracking URI {display_url(uri)} is unreachable: {one_line(exc)}")


def _probe_database(uri: str) -> None:
    """One quick connection to a database server, raising ``TrackingError`` when it is down.

    MLflow itself retries a new database engine for about 100 seconds before failing,
    which would stall every command (and the service's start) while the server is down.
    """
    if not uri.startswith(_SERVER_DATABASES):
        return
    import sqlalchemy as sa

    connect_args = {"connect_timeout": 5} if uri.startswith("postgresql") else {}
    engine = sa.create_engine(uri, poolclass=sa.pool.NullPool, connect_args=connect_args)
    try:
        with engine.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - any failure here means the URI is unusable
        raise _unreachable(uri, exc) from None
    finally:
        engine.dispose()


def ensure_experiment(client: MlflowClient, name: str, settings: Settings) -> str:
    """The experiment's id, creating it with an explicit artifact location when new."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = f"{settings.artifact_root.rstrip('/')}/{name}"
    return str(client.create_experiment(name, artifact_location=location))


@dataclass(frozen=True)
class LoggedModel:
    """A run and the registry version it produced."""

    run_id: str
    version: str


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = json.dumps(value) if isinstance(value, list) else str(value)


def log_training_run(
    client: MlflowClient,
    settings: Settings,
    *,
    kind: str,
    run_name: str,
    config: dict[str, Any],
    params: dict[str, Any],
    metrics: dict[str, float],
    tags: dict[str, str],
    tables: dict[str, pd.DataFrame],
    figures: dict[str, Any],
    model_object: object,
    input_example: pd.DataFrame,
    output_example: pd.DataFrame,
) -> LoggedModel:
    """Log one training run with its artifacts and register its model as a new version."""
    experiment_id = ensure_experiment(client, f"supplierrisk-{kind}", settings)
    flat: dict[str, str] = {}
    _flatten("", {"config": config, **params}, flat)
    with (
        mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run,
        tempfile.TemporaryDirectory() as tmp,
    ):
        mlflow.log_params({k: v[:6000] for k, v in flat.items()})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if pd.notna(v)})
        mlflow.set_tags(tags)
        mlflow.log_dict(config, "config.json")
        folder = Path(tmp)
        for name, table in tables.items():
            path = folder / name
            if name.endswith(".parquet"):
                table.to_parquet(path, index=False)
            else:
                table.to_csv(path, index=False)
            mlflow.log_artifact(str(path))
        for name, figure in figures.items():
            mlflow.log_figure(figure, name)
        model_path = save_model_object(model_object, folder / "model")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=ModelPyfunc(),
            artifacts={"model": str(model_path)},
            signature=_signature(input_example, output_example),
            input_example=input_example,
            pip_requirements=_pip_requirements(),
            registered_model_name=MODEL_NAMES[kind],
        )
        version = str(info.registered_model_version)
        client.set_model_version_tag(
            MODEL_NAMES[kind], version, "training_as_of", tags.get("training_as_of", "")
        )
        return LoggedModel(run.info.run_id, version)


def _signature(input_example: pd.DataFrame, output_example: pd.DataFrame) -> Any:
    with warnings.catch_warnings():
        # Integer outputs (the 0-100 risk score) are never missing; MLflow's hint does not apply.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        return infer_signature(input_example, output_example)


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in _PIP_PACKAGES]


def version_for_alias(client: MlflowClient, name: str, alias: str) -> Any | None:
    """The model version holding ``alias``, or None."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def set_alias(client: MlflowClient, name: str, version: str, alias: str) -> None:
    """Point ``alias`` at ``version``."""
    client.set_registered_model_alias(name, alias, version)


def promote(client: MlflowClient, name: str, version: str, reason: str, who: str | None = None) -> None:
    """Make ``version`` the champion by hand, recording who and why on the version."""
    client.get_model_version(name, version)
    user = who or getpass.getuser()
    set_alias(client, name, version, CHAMPION)
    now = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    client.set_model_version_tag(name, version, "promoted_by", user)
    client.set_model_version_tag(name, version, "promoted_reason", reason)
    client.set_model_version_tag(name, version, "promoted_at", now)


def run_metrics(client: MlflowClient, run_id: str) -> dict[str, float]:
    """The metrics logged on a run."""
    return dict(client.get_run(run_id).data.metrics)


def list_versions(client: MlflowClient, names: list[str]) -> pd.DataFrame:
    """Every version of the named models with aliases and key backtest metrics."""
    rows = []
    for name in names:
        try:
            versions = client.search_model_versions(f"name='{name}'")
        except MlflowException:
            continue
        try:
            aliases = client.get_registered_model(name).aliases
        except MlflowException:
            aliases = {}
        by_version: dict[str, list[str]] = {}
        for alias, version in aliases.items():
            by_version.setdefault(str(version), []).append(alias)
        for mv in versions:
            metrics = run_metrics(client, mv.run_id) if mv.run_id else {}
            tags = client.get_run(mv.run_id).data.tags if mv.run_id else {}
            rows.append(
                {
                    "model": name,
                    "version": int(mv.version),
                    "aliases": ",".join(sorted(by_version.get(str(mv.version), []))),
                    "training_as_of": tags.get("training_as_of", ""),
                    "mean_roc_auc": metrics.get("mean_roc_auc"),
                    "mean_brier": metrics.get("mean_brier"),
                    "best_baseline_roc_auc": metrics.get("best_baseline_roc_auc"),
                    "best_baseline_brier": metrics.get("best_baseline_brier"),
                    "gate": tags.get("gate_decision", ""),
                    "run_id": mv.run_id,
                }
            )
    columns = [
        "model",
        "version",
        "aliases",
        "training_as_of",
        "mean_roc_auc",
        "mean_brier",
        "best_baseline_roc_auc",
        "best_baseline_brier",
        "gate",
        "run_id",
    ]
    return pd.DataFrame(rows, columns=columns).sort_values(["model", "version"], ignore_index=True)


def load_model(client: MlflowClient, name: str, alias: str = CHAMPION) -> tuple[Any, Any]:
    """Load the supplierrisk model behind ``name@alias`` and its registry version."""
    version = version_for_alias(client, name, alias)
    if version is None:
        raise MissingChampionError(f"model {name} has no '{alias}' version yet: train and promote one first")
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@{alias}")
    return loaded.unwrap_python_model().unwrap(), version


def run_config(client: MlflowClient, run_id: str) -> dict[str, Any] | None:
    """The training config logged with a run, if any."""
    try:
        path = client.download_artifacts(run_id, "config.json")
    except MlflowException:
        return None
    return dict(json.loads(Path(path).read_text(encoding="utf-8")))


BATCH_EXPERIMENT = "batch-scoring"


def log_batch_run(
    settings: Settings,
    client: MlflowClient,
    content: dict[str, Any],
    published: bool,
    warnings_seen: list[str],
    artifacts: list[Path],
    alerts: list[dict[str, Any]] | None = None,
) -> None:
    """One MLflow run per batch: its manifest, row counts, durations, drift headline, alerts and files."""
    experiment = ensure_experiment(client, BATCH_EXPERIMENT, settings)
    m = content
    with mlflow.start_run(experiment_id=experiment, run_name=f"batch-{m['as_of']}"):
        mlflow.set_tags({"batch_id": m["batch_id"], "as_of": m["as_of"], "published": str(published)})
        mlflow.log_params(
            {
                "as_of": m["as_of"],
                "otd_version": m["models"]["otd"]["version"],
                "disruption_version": m["models"]["disruption"]["version"],
                "data_sha256": m["data"]["sha256"],
            }
        )
        metrics = {
            "rows_read": m["rows_read"],
            "open_lines_scored": m["rows_scored"]["open_lines"],
            "suppliers_scored": m["rows_scored"]["suppliers"],
        }
        metrics.update({f"seconds_{k}": v for k, v in m["durations_seconds"].items()})
        metrics.update({k: v for k, v in m.get("drift", {}).items() if isinstance(v, int | float)})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        mlflow.log_dict(m, "manifest.json")
        if warnings_seen:
            mlflow.log_text("\n".join(warnings_seen) + "\n", "warnings.txt")
        if alerts is not None:
            # The same sentences as the CLI, the API and the workspace show.
            text = "".join(
                f"[{a['model']}, {a['kind']}; {a['consequence']}] {a['sentence']}\n" for a in alerts
            )
            mlflow.log_text(text or "no alert\n", "drift_alerts.txt")
            mlflow.set_tag("drift_alerts", str(len(alerts)))
        for path in artifacts:
            if path.exists():
                mlflow.log_artifact(str(path))
