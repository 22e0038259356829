"""What a running service serves: the champions, the store's point-in-time index and the latest batch.

A ``Deployment`` is loaded in one go and never changed afterwards. A service holds
one and replaces it whole on reload, so a request that took a deployment reads
models, history and batch that belong together, whatever reloads happen meanwhile.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from supplierrisk.batch import folders
from supplierrisk.batch.compute import TABLES
from supplierrisk.features import latest_day, line_feature_arrays
from supplierrisk.kpis import KpiParams, kpi_params, quarterly_kpis
from supplierrisk.modeling.metrics import METRIC_NAMES
from supplierrisk.modeling.scoring import HistoryAt, history_at
from supplierrisk.settings import Settings
from supplierrisk.storage import read_history
from supplierrisk.tracking import (
    CHALLENGER,
    CHAMPION,
    MODEL_NAMES,
    MissingChampionError,
    load_model,
    version_for_alias,
)

T = TypeVar("T")
# Derived views kept per deployment (categories x windows a page asked for).
MEMO_SIZE = 512


@dataclass(frozen=True)
class ModelCard:
    """A registered version behind an alias, with its provenance and backtest figures."""

    kind: str
    name: str
    alias: str
    version: str
    run_id: str
    training_as_of: str
    data_window: str
    gate_decision: str
    backtest: dict[str, dict[str, float]]
    served_candidate: str = "model"
    served: str = ""


@dataclass(frozen=True)
class DeployedModel:
    """A loaded champion and its card."""

    card: ModelCard
    model: Any


@dataclass(frozen=True)
class PublishedBatch:
    """The latest published batch: its tables and drift summary."""

    batch_id: str
    as_of: pd.Timestamp
    folder: Path
    tables: dict[str, pd.DataFrame]
    drift: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)

    def drift_html(self, kind: str = "otd") -> Path | None:
        """The Evidently drift page of ``kind``'s features (otd or disruption), if the batch wrote one."""
        name = folders.DRIFT_HTML if kind == "otd" else folders.DRIFT_SUPPLIERS_HTML
        path = self.folder / name
        return path if path.exists() else None


@dataclass(frozen=True)
class StoreState:
    """The canonical store as loaded, its index at its last day, and each supplier's and category's rows."""

    history: pd.DataFrame
    at: HistoryAt
    rows_by_supplier: dict[str, np.ndarray]
    rows_by_category: dict[str, np.ndarray] = field(default_factory=dict)
    # The store file's (mtime, size) when it was read: a reload with the same stamp reuses this state.
    stamp: tuple[int, int] = (0, 0)

    def lines_of(self, category: str, suppliers: list[str] | None = None) -> pd.DataFrame:
        """The history's lines in ``category`` (of ``suppliers`` only, when given)."""
        if suppliers is None:
            return self.history.iloc[self.rows_by_category.get(category, np.empty(0, dtype=np.int64))]
        # A few suppliers' rows are far fewer than a category's: take theirs, then keep the category.
        empty = np.empty(0, dtype=np.int64)
        rows = np.sort(np.concatenate([empty, *(self.rows_by_supplier.get(s, empty) for s in suppliers)]))
        lines = self.history.iloc[rows]
        return lines.loc[(lines["category"] == category).to_numpy()]


@dataclass(frozen=True)
class Deployment:
    """One consistent set of what the service serves; any part may be missing (the service says which)."""

    models: dict[str, DeployedModel]
    cards: dict[str, dict[str, ModelCard]]
    batch: PublishedBatch | None
    store: StoreState | None
    loaded_at: pd.Timestamp
    problems: list[str] = field(default_factory=list)
    kpi_trend: dict[str, pd.DataFrame] = field(default_factory=dict)

    _memo: dict[Hashable, Any] = field(default_factory=dict, repr=False, compare=False)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def versions(self) -> dict[str, str]:
        """Champion version per loaded model kind."""
        return {kind: m.card.version for kind, m in self.models.items()}

    def memoized(self, key: Hashable) -> Any | None:
        """What ``memo`` keeps under ``key``, or None when nothing is kept (yet)."""
        with self._memo_lock:
            return self._memo.get(key)

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, kept for this deployment under ``key`` (``MEMO_SIZE`` entries, oldest dropped).

        What a page derives from the loaded data (a category's quarterly trend, a custom
        KPI window) is the same until the next load, which builds a new deployment.
        """
        with self._memo_lock:
            if key in self._memo:
                found: T = self._memo[key]
                return found
        value = compute()
        with self._memo_lock:
            self._memo[key] = value
            while len(self._memo) > MEMO_SIZE:
                self._memo.pop(next(iter(self._memo)))
        return value


def backtest_summary(metrics: dict[str, float]) -> dict[str, dict[str, float]]:
    """Mean backtest metrics per model from a training run: ``model`` and each baseline or reference."""
    summary: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        if key.startswith("served_"):
            continue  # the served row's figures, already listed under its own name
        for metric in METRIC_NAMES:
            if key == f"mean_{metric}":
                summary.setdefault("model", {})[metric] = float(value)
            elif key.endswith(f"_mean_{metric}") and not key.startswith("fold"):
                summary.setdefault(key.removesuffix(f"_mean_{metric}"), {})[metric] = float(value)
    return dict(sorted(summary.items(), key=lambda item: (item[0] != "model", item[0])))


def model_card(client: MlflowClient, kind: str, alias: str) -> ModelCard | None:
    """The card of ``kind``'s version under ``alias``, or None when no version holds it."""
    name = MODEL_NAMES[kind]
    found = version_for_alias(client, name, alias)
    if found is None:
        return None
    run = client.get_run(found.run_id) if found.run_id else None
    tags = run.data.tags if run is not None else {}
    metrics = dict(run.data.metrics) if run is not None else {}
    return ModelCard(
        kind=kind,
        name=name,
        alias=alias,
        version=str(found.version),
        run_id=str(found.run_id),
        training_as_of=tags.get("training_as_of", ""),
        data_window=tags.get("data_window", ""),
        gate_decision=tags.get("gate_reason", ""),
        backtest=backtest_summary(metrics),
        served_candidate=tags.get("served_candidate", "model"),
        served=tags.get("served_sentence", ""),
    )


def registry_state(client: MlflowClient) -> dict[str, str | None]:
    """The version behind each alias of each model (a cheap check for "did anything change")."""
    state: dict[str, str | None] = {}
    for kind, name in MODEL_NAMES.items():
        for alias in (CHAMPION, CHALLENGER):
            found = version_for_alias(client, name, alias)
            state[f"{kind}@{alias}"] = None if found is None else str(found.version)
    return state


def store_stamp(path: Path) -> tuple[int, int]:
    """Modification time and size of the store file ((0, 0) when absent)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


def latest_batch_id(root: Path) -> str | None:
    """The id LATEST points at (None before the first batch)."""
    folder = folders.latest_batch(root)
    return None if folder is None else folder.name


def load_batch(root: Path) -> PublishedBatch | None:
    """The latest complete batch (LATEST is authoritative), or None before the first one."""
    folder = folders.latest_batch(root)
    if folder is None:
        return None
    manifest = folders.read_manifest(folder)
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    drift_path = folder / folders.DRIFT_JSON
    drift = json.loads(drift_path.read_text(encoding="utf-8")) if drift_path.exists() else None
    return PublishedBatch(
        batch_id=str(manifest["batch_id"]),
        as_of=pd.Timestamp(manifest["as_of"]),
        folder=folder,
        tables=tables,
        drift=drift,
        notes=[str(note) for note in manifest.get("notes", [])],
    )


def load_store_state(
    settings: Settings, otd: DeployedModel | None, previous: StoreState | None = None
) -> StoreState | None:
    """The store and its index at its last day, built with the OTD champion's feature settings.

    When the store file is unchanged since ``previous`` was read, ``previous`` is kept:
    its index answers any model's settings (``HistoryAt.index_for``), so a promotion
    reloads in the time it takes to load the models, not to rebuild the index.
    """
    if otd is None or not settings.store_path.exists():
        return None
    stamp = store_stamp(settings.store_path)
    if previous is not None and previous.stamp == stamp:
        state = previous
    else:
        history = read_history(settings.store_path)
        if history.empty:
            return None
        at = history_at(history, latest_day(history), otd.model.feature_config, suppliers=False)
        by_category = rows_by(history["category"]) if "category" in history else {}
        state = StoreState(history, at, rows_by(history["supplier_id"]), by_category, stamp)
    # One query builds the index's lazy parts, so the first request is as fast as the rest.
    features = otd.model.feature_set
    day = np.array([state.at.as_of.to_datetime64()])
    index = state.at.index_for(otd.model.feature_config)
    line_feature_arrays(index, state.history.head(1), day, features.categorical, features.numeric_extras)
    return state


def rows_by(values: pd.Series) -> dict[str, np.ndarray]:
    """Row positions of each distinct value (missing values left out), in row order."""
    codes, uniques = pd.factorize(values, sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return {str(s): order[bounds[i] : bounds[i + 1]] for i, s in enumerate(uniques)}


def _load_models(
    client: MlflowClient, problems: list[str]
) -> tuple[dict[str, DeployedModel], dict[str, dict[str, ModelCard]]]:
    models: dict[str, DeployedModel] = {}
    cards: dict[str, dict[str, ModelCard]] = {}
    for kind, name in MODEL_NAMES.items():
        cards[kind] = {}
        for alias in (CHAMPION, CHALLENGER):
            card = model_card(client, kind, alias)
            if card is not None:
                cards[kind][alias] = card
        try:
            model, version = load_model(client, name, CHAMPION)
        except MissingChampionError as exc:
            problems.append(str(exc))
            continue
        card = cards[kind].get(CHAMPION)
        if card is None or card.version != str(version.version):
            # The alias moved between reading the card and loading: describe what was loaded.
            card = model_card(client, kind, CHAMPION)
        assert card is not None  # noqa: S101 - a champion was just loaded
        models[kind] = DeployedModel(card, model)
    return models, cards


def load_deployment(
    settings: Settings,
    client: MlflowClient | None,
    registry_error: str = "",
    previous: Deployment | None = None,
) -> Deployment:
    """Load the champions, the store index and the latest batch; note what is missing instead of failing.

    Without a client (the registry is unreachable) only the batch is loaded. Parts
    whose source is unchanged since ``previous`` (the store file, LATEST) are reused.
    """
    problems: list[str] = []
    models: dict[str, DeployedModel] = {}
    cards: dict[str, dict[str, ModelCard]] = {}
    if client is None:
        problems.append(registry_error or "the MLflow registry is unreachable")
    else:
        models, cards = _load_models(client, problems)
    store = load_store_state(settings, models.get("otd"), previous.store if previous else None)
    if store is None and "otd" in models:
        problems.append(f"the store {settings.store_path} is missing or empty: run 'supplierrisk ingest'")
    old_batch = previous.batch if previous else None
    same_batch = old_batch is not None and latest_batch_id(settings.batches_dir) == old_batch.batch_id
    batch = old_batch if same_batch else load_batch(settings.batches_dir)
    if batch is None:
        problems.append("no batch published yet: run 'supplierrisk score'")
    if previous is not None and same_batch and store is not None and store is previous.store:
        trend = previous.kpi_trend
    else:
        trend = (
            supplier_kpi_trend(store.history, batch.as_of, kpi_params(settings)) if store and batch else {}
        )
    return Deployment(models, cards, batch, store, pd.Timestamp.now(tz="UTC"), problems, trend)


def supplier_kpi_trend(
    history: pd.DataFrame, as_of: pd.Timestamp, params: KpiParams, quarters: int = 4
) -> dict[str, pd.DataFrame]:
    """Each supplier's KPIs over the last ``quarters`` calendar quarters to ``as_of`` (once per load)."""
    table = quarterly_kpis(history, as_of, ["supplier_id"], quarters, params)
    return {
        str(supplier): rows.reset_index(drop=True)
        for supplier, rows in table.groupby("supplier_id", sort=False)
    }
