"""What the service tells its operators: a request id and one JSON log line per request, and /metrics.

``RequestObserver`` (ASGI middleware) gives every request an id (the caller's
``X-Request-ID`` when it is a sane token, else a new one), echoes it in the
response, counts and times the request by route template and status, and logs
one line on ``supplierrisk.access``. ``ServiceCollector`` reads the holder at
scrape time: model versions served, reload outcomes, batch age, registry state.
Each worker process keeps its own counts (scrape every worker, or run one per container).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.deps import MODELS_HEADER

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode()
_MODELS_KEY = MODELS_HEADER.lower().encode()
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
access_log = logging.getLogger("supplierrisk.access")


class RequestMetrics:
    """The request counter and latency histogram of one app, on its own registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "supplierrisk_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "supplierrisk_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by route template, method and status.",
            ["route", "method", "status"],
            buckets=_BUCKETS,
            registry=registry,
        )


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    # The template ("/v1/suppliers/{supplier_id:path}"), never the path: one series per route.
    return path if isinstance(path, str) else "unmatched"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class RequestObserver:
    """Request id, metrics and the access log line for every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, stamping the id on the response and recording how it went."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, _REQUEST_ID_KEY)
        request_id = given if given is not None and _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        started = time.perf_counter()
        seen: dict[str, Any] = {"status": 500, "models": None}

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                headers = list(message.get("headers", []))
                seen["models"] = next((v.decode() for k, v in headers if k == _MODELS_KEY), None)
                headers.append((_REQUEST_ID_KEY, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            self._record(scope, request_id, seen, time.perf_counter() - started)

    def _record(self, scope: Scope, request_id: str, seen: dict[str, Any], seconds: float) -> None:
        route, method, status = _route(scope), str(scope.get("method", "")), str(seen["status"])
        self.metrics.requests.labels(route, method, status).inc()
        self.metrics.latency.labels(route, method, status).observe(seconds)
        if not access_log.isEnabledFor(logging.INFO):
            return
        client = scope.get("client")
        fields = {
            "request_id": request_id,
            "method": method,
            "path": scope.get("path", ""),
            "route": route,
            "status": int(seen["status"]),
            "duration_ms": round(seconds * 1000, 2),
            "client": client[0] if client else None,
            "models": seen["models"],
        }
        access_log.info("%s %s %s", method, fields["path"], status, extra={"fields": fields})


class ServiceCollector(Collector):
    """Read at scrape time from the holder: what is served, how reloads went, how old the batch is."""

    def __init__(self, holder: Any) -> None:
        self.holder = holder

    def collect(self) -> Iterator[Any]:
        """The service's state as metric families."""
        current = self.holder.current
        served = GaugeMetricFamily(
            "supplierrisk_model_version_info",
            "The model versions served (1 per model).",
            labels=["model", "version"],
        )
        for model, version in (current.versions if current is not None else {}).items():
            served.add_metric([model, str(version)], 1.0)
        yield served
        reloads = CounterMetricFamily(
            "supplierrisk_reloads",
            "Deployment reloads by outcome (loaded, failed, registry_unreachable).",
            labels=["outcome"],
        )
        for outcome in ("loaded", "failed", "registry_unreachable"):
            reloads.add_metric([outcome], float(self.holder.reload_outcomes[outcome]))
        yield reloads
        yield GaugeMetricFamily(
            "supplierrisk_registry_reachable",
            "1 when the MLflow registry answered at the last check.",
            value=0.0 if self.holder.registry_error else 1.0,
        )
        yield GaugeMetricFamily(
            "supplierrisk_reload_failing",
            "1 while the last reload failed.",
            value=1.0 if self.holder.load_error else 0.0,
        )
        age = GaugeMetricFamily("supplierrisk_batch_age_days", "Days from the served batch's as-of to now.")
        if current is not None and current.batch is not None:
            age.add_metric([], float((pd.Timestamp.now() - current.batch.as_of).total_seconds() / 86400))
        yield age


def metrics_registry(holder: Any) -> tuple[CollectorRegistry, RequestMetrics]:
    """A registry of the app's own (tests build many apps in one process)."""
    registry = CollectorRegistry()
    registry.register(ServiceCollector(holder))
    return registry, RequestMetrics(registry)


def log_config(level: str = "info") -> dict[str, Any]:
    """Uvicorn's logging config: every logger as JSON lines on stderr (uvicorn's access log off)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    loggers = {
        name: {"handlers": ["json"], "level": level.upper(), "propagate": False}
        for name in ("uvicorn", "uvicorn.error", "supplierrisk")
    }
    loggers["mlflow"] = {"handlers": ["json"], "level": "WARNING", "propagate": False}
    # MLflow logs a traceback per failed connection; ours says it in one line.
    loggers["mlflow.store.db.utils"] = {"handlers": ["json"], "level": "CRITICAL", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "supplierrisk.logs.JsonLineFormatter"}},
        "handlers": {"json": handler},
        "loggers": loggers,
    }
