"""Request ids, one JSON access line per request, and the Prometheus metrics."""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from serving.app import create_app
from supplierrisk.logs import JsonLineFormatter
from tests.stack import Stack, line


def samples(api: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def requests_of(found: dict, route: str, status: str, method: str = "POST") -> float:
    key = ("supplierrisk_http_requests_total", (("method", method), ("route", route), ("status", status)))
    return found.get(key, 0.0)


def test_requests_are_counted_and_timed_by_route_template_and_status(api: TestClient, stack: Stack) -> None:
    route = "/v1/order-lines/score"
    before = samples(api)
    for _ in range(3):
        assert api.post(route, json={"lines": [line(stack)]}, headers=stack.headers()).status_code == 200
    assert api.post(route, json={"lines": [line(stack)]}).status_code == 401
    supplier = str(stack.history["supplier_id"].iloc[0])
    assert api.get(f"/v1/suppliers/{supplier}", headers=stack.headers()).status_code == 200
    after = samples(api)
    assert requests_of(after, route, "200") - requests_of(before, route, "200") == 3
    assert requests_of(after, route, "401") - requests_of(before, route, "401") == 1
    # The template, not the supplier's id: one series however many suppliers are asked for.
    assert requests_of(after, "/v1/suppliers/{supplier_id:path}", "200", "GET") >= 1
    assert not any(supplier in dict(labels).get("route", "") for _, labels in after)
    timed = ("supplierrisk_http_request_duration_seconds_count", (("method", "POST"), ("route", route)))
    ok, refused = ((*timed[:1], (*timed[1], ("status", s))) for s in ("200", "401"))
    assert after[ok] - before.get(ok, 0.0) == 3
    assert after[refused] - before.get(refused, 0.0) == 1


def test_metrics_name_the_models_served_and_the_batch_age(api: TestClient, stack: Stack) -> None:
    found = samples(api)
    ready = api.get("/ready").json()
    served = {
        dict(labels)["model"]: dict(labels)["version"]
        for name, labels in found
        if name == "supplierrisk_model_version_info"
    }
    assert served == ready["models"]
    assert found[("supplierrisk_batch_age_days", ())] == pytest.approx(ready["batch_age_days"], abs=1.0)
    assert found[("supplierrisk_registry_reachable", ())] == 1.0
    assert found[("supplierrisk_reload_failing", ())] == 0.0


def test_reloads_are_counted_by_outcome(stack: Stack) -> None:
    with TestClient(create_app(stack.settings)) as api:
        before = samples(api)[("supplierrisk_reloads_total", (("outcome", "loaded"),))]
        assert api.post("/v1/admin/reload", headers=stack.headers("admin")).status_code == 200
        after = samples(api)[("supplierrisk_reloads_total", (("outcome", "loaded"),))]
    assert before == 1.0  # the start
    assert after == 2.0


def test_every_response_carries_a_request_id_the_callers_when_sane(api: TestClient) -> None:
    mine = api.get("/health", headers={"X-Request-ID": "abc-123.x"})
    assert mine.headers["x-request-id"] == "abc-123.x"
    odd = api.get("/health", headers={"X-Request-ID": "no spaces\tor tabs"})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["x-request-id"])
    first, second = api.get("/health"), api.get("/health")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_one_json_access_line_per_request_with_its_id(
    api: TestClient, stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="supplierrisk.access"):
        response = api.post(
            "/v1/order-lines/score",
            json={"lines": [line(stack)]},
            headers={**stack.headers(), "X-Request-ID": "r-42"},
        )
    records = [r for r in caplog.records if r.name == "supplierrisk.access"]
    assert len(records) == 1
    entry = json.loads(JsonLineFormatter().format(records[0]))
    assert entry["request_id"] == "r-42"
    assert entry["status"] == 200
    assert entry["route"] == "/v1/order-lines/score"
    assert entry["models"] == response.headers["x-model-versions"]
    assert entry["duration_ms"] > 0
    assert entry["level"] == "info"
