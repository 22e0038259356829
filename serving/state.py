"""The service's current deployment: loaded at start, swapped whole on reload, polled for changes."""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from mlflow import MlflowClient

from supplierrisk.logs import one_line
from supplierrisk.service.deployment import (
    Deployment,
    latest_batch_id,
    load_deployment,
    registry_state,
    store_stamp,
)
from supplierrisk.settings import Settings
from supplierrisk.tracking import TrackingError, connect

log = logging.getLogger("supplierrisk.serving")


# While a reload runs beside live requests, the interpreter hands the GIL round every millisecond
# (default 5): loading models is pure Python, and requests waiting on it would see p99 triple.
_LOADING_SWITCH_SECONDS = 0.001


@contextlib.contextmanager
def _responsive_while_loading() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, _LOADING_SWITCH_SECONDS))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _settle_memory(collect: bool) -> None:
    """Freeze what is loaded, so that the collector never rescans the deployment.

    Python's full collections scan every tracked object: with a deployment loaded that is
    some 350,000 objects and about 150 ms, a pause that lands on random requests (the
    1-line p99). Frozen objects are out of the collector's sight; reference counting still
    frees an old deployment when it is swapped out. Only the start collects first: a
    collection during a reload would pause live requests for those 150 ms, and what it
    would find is small (measured: about 160 objects of MLflow's and SQLAlchemy's per
    reload, no frames or arrays), so it stays frozen.
    """
    if collect:
        gc.collect()
    gc.freeze()


class RegistryUnavailableError(RuntimeError):
    """The registry did not answer; the service keeps what it has."""


@dataclass(frozen=True)
class Fingerprint:
    """What, if changed, calls for a reload: the aliases, LATEST and the store file."""

    registry: tuple[tuple[str, str | None], ...]
    batch_id: str | None
    store: tuple[int, int]


class DeploymentHolder:
    """Holds the current ``Deployment``; a reload builds a new one aside and swaps the reference.

    Readers take ``holder.current`` once per request: Python swaps a reference
    atomically, so a request sees either the old or the new deployment, never a mix.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.current: Deployment | None = None
        self.registry_error: str | None = None
        # The last reload that failed although the registry answered (a missing or corrupt artifact).
        self.load_error: str | None = None
        # Reloads by outcome ("loaded", "registry_unreachable", "failed"): the service's metrics.
        self.reload_outcomes: Counter[str] = Counter()
        self.started_without_models = False
        self._fingerprint: Fingerprint | None = None
        self._reload_lock = threading.Lock()
        self._checked_at = 0.0

    def _connect(self) -> MlflowClient:
        try:
            client = connect(self.settings)
        except TrackingError as exc:
            self.registry_error = str(exc)
            self._checked_at = time.monotonic()
            raise RegistryUnavailableError(str(exc)) from None
        self.registry_error = None
        self._checked_at = time.monotonic()
        return client

    def _fingerprint_now(self, client: MlflowClient) -> Fingerprint:
        return Fingerprint(
            tuple(sorted(registry_state(client).items())),
            latest_batch_id(self.settings.batches_dir),
            store_stamp(self.settings.store_path),
        )

    def start(self) -> Deployment:
        """The first load: with the registry down, serve the batch alone and keep trying."""
        try:
            return self.reload()
        except RegistryUnavailableError as exc:
            deployment = load_deployment(self.settings, None, str(exc))
            self.current = deployment
            self.started_without_models = True
            _settle_memory(collect=True)
            log.error("registry unreachable at start; serving the batch only: %s", exc)
            return deployment

    @property
    def needs_recovery(self) -> bool:
        """True while the service started without the registry and has not loaded models since."""
        return self.started_without_models and (self.current is None or not self.current.models)

    def reload(self) -> Deployment:
        """Load everything anew and swap it in; raises ``RegistryUnavailableError`` and keeps the old one."""
        with self._reload_lock, _responsive_while_loading():
            try:
                client = self._connect()
            except RegistryUnavailableError:
                self.reload_outcomes["registry_unreachable"] += 1
                raise
            try:
                fingerprint = self._fingerprint_now(client)
                deployment = load_deployment(self.settings, client, previous=self.current)
            except Exception as exc:  # noqa: BLE001 - whatever broke, the previous deployment stays
                self.reload_outcomes["failed"] += 1
                self.load_error = f"the last reload failed, serving the previous deployment ({one_line(exc)})"
                log.error("%s", self.load_error)
                raise RegistryUnavailableError(self.load_error) from None
            # Only a first load, with no requests being served yet, can afford a full collection.
            first = self.current is None or not self.current.models
            self.current = deployment
            self._fingerprint = fingerprint
            self.load_error = None
            self.reload_outcomes["loaded"] += 1
            _settle_memory(collect=first)
            log.info(
                "loaded models %s, batch %s",
                deployment.versions or "none",
                deployment.batch.batch_id if deployment.batch else "none",
            )
            return deployment

    def registry_reachable(self, max_age_seconds: float = 5.0) -> bool:
        """The last check's answer, checking again when it is older than ``max_age_seconds``.

        A dead registry is asked at most once per ``max_age_seconds``, so readiness probes
        stay fast while it is down.
        """
        if time.monotonic() - self._checked_at > max_age_seconds:
            try:
                self._connect()
            except RegistryUnavailableError:
                return False
        return self.registry_error is None

    def poll(self) -> bool:
        """Reload when an alias, LATEST or the store changed; True when it reloaded."""
        try:
            client = self._connect()
            changed = self._fingerprint_now(client) != self._fingerprint
        except RegistryUnavailableError:
            return False
        except Exception as exc:  # noqa: BLE001 - a failed check must not stop the poller
            self.registry_error = f"registry check failed: {exc}"
            return False
        if not changed:
            return False
        try:
            self.reload()
        except RegistryUnavailableError:
            return False
        return True
