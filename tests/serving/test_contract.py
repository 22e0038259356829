"""The OpenAPI contract: every endpoint documented with examples, and no input makes a 500 (schemathesis)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from serving.app import create_app
from serving.routes import ROUTERS
from tests.stack import Stack

pytestmark = pytest.mark.slow

ENDPOINTS = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("GET", "/v1/models"),
    ("POST", "/v1/order-lines/score"),
    ("GET", "/v1/suppliers"),
    ("GET", "/v1/suppliers/{supplier_id}"),
    ("GET", "/v1/categories"),
    ("GET", "/v1/categories/{category}"),
    ("GET", "/v1/drift"),
    ("GET", "/v1/drift/report"),
    ("POST", "/v1/scenarios"),
    ("GET", "/v1/scenarios/{scenario_id}"),
    ("POST", "/v1/admin/reload"),
}


def test_openapi_lists_every_endpoint_with_descriptions_and_errors(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    listed = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert listed == ENDPOINTS
    routes = {
        (method, route.path.replace(":path", ""))
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert routes == ENDPOINTS
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary") or op.get("description"), (method, path)
            if path.startswith("/v1/"):
                assert {"401", "403", "503"} <= set(op["responses"]), (method, path)
    assert "APIKeyHeader" in spec["components"]["securitySchemes"]


def test_request_and_response_schemas_carry_examples(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    schemas: dict[str, Any] = spec["components"]["schemas"]
    assert schemas["ScoreRequest"]["examples"][0]["lines"][0]["supplier_id"]
    assert schemas["OrderLine"]["examples"][0]["order_date"] == "2015-06-01"
    for name in ("ScoreResponse", "LineScore", "SupplierSummary", "CategorySummary"):
        assert schemas[name]["examples"], name
    body = spec["paths"]["/v1/order-lines/score"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/ScoreRequest")
    for name in ("LineScore", "SupplierDetail", "CategoryDetail", "Ready", "ModelsResponse"):
        assert all(
            "description" in field or "$ref" in field or "anyOf" in field or "type" in field
            for field in schemas[name]["properties"].values()
        ), name


def test_no_input_produces_a_server_error(stack: Stack) -> None:
    """Property-based requests from the schema to every operation, bounded per operation; none may give a 500.

    Unhandled exceptions in the app surface here as raised errors, 500 responses fail
    ``not_a_server_error``; either fails the test with a reproducible case.
    """
    app = create_app(stack.settings)
    config = schemathesis.Config.from_dict({"headers": {"X-API-Key": stack.viewer}})
    spec = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    operations = [result.ok() for result in spec.get_all_operations()]
    assert len(operations) == len(ENDPOINTS)
    calls = 0
    with TestClient(app):  # the lifespan loads models and the batch once for every example
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def fuzz(case: Any) -> None:
                nonlocal calls
                calls += 1
                case.call_and_validate(checks=[not_a_server_error])

            fuzz()
    assert calls >= 5 * len(operations)


def test_every_example_is_valid_for_its_own_model() -> None:
    import inspect

    from pydantic import BaseModel, TypeAdapter

    from serving import schemas

    checked = []
    for name, model in inspect.getmembers(schemas, inspect.isclass):
        if model.__module__ != schemas.__name__:
            continue
        # Models, and typed dicts with a pydantic config (OrderLine).
        config = (
            model.model_config if issubclass(model, BaseModel) else getattr(model, "__pydantic_config__", {})
        )
        extra = config.get("json_schema_extra")
        for example in extra.get("examples", []) if isinstance(extra, dict) else []:
            TypeAdapter(model).validate_python(example)
            checked.append(name)
    expected = {
        "ScoreRequest",
        "OrderLine",
        "ScoreResponse",
        "LineScore",
        "SupplierSummary",
        "SupplierDetail",
    }
    assert expected | {"CategorySummary", "CategoryDetail"} <= set(checked)
