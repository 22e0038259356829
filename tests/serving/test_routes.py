"""Each router on its own: a stub deployment and holder through ``dependency_overrides``, real keys.

What a route decides before the library is called (auth, limits, loading, missing
reports, an unreachable registry) is checked here in milliseconds; the end-to-end
behaviour on a trained stack is in ``test_api.py``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from serving import deps
from serving.app import create_app
from serving.auth import API_KEY_HEADER
from serving.routes import ROUTERS
from serving.schemas import LINE_EXAMPLE
from serving.state import RegistryUnavailableError
from supplierrisk.service.apikeys import KeyRing, create_key
from supplierrisk.settings import Settings


class StubHolder:
    """A holder whose deployment is given and whose reload fails as the registry would."""

    def __init__(self, current: object | None) -> None:
        self.current = current
        self.registry_error: str | None = "no answer from the tracking server"
        self.load_error: str | None = None
        self.reload_outcomes: Counter[str] = Counter()

    def reload(self) -> object:
        raise RegistryUnavailableError("no answer from the tracking server")


@pytest.fixture
def setup(tmp_path: Path):
    """An app without its lifespan (nothing loads), two real keys, and a stub deployment with no batch."""
    settings = Settings(home=tmp_path, api_max_lines=2, api_max_explained_lines=1)
    keys = tmp_path / "keys.json"
    viewer, _ = create_key(keys, "viewer", "viewer")
    admin, _ = create_key(keys, "admin", "admin")
    app = create_app(settings)
    app.dependency_overrides[deps.get_keyring] = lambda: KeyRing(keys)
    stub = SimpleNamespace(batch=None)
    app.dependency_overrides[deps.current_deployment] = lambda: stub
    app.dependency_overrides[deps.get_holder] = lambda: StubHolder(stub)
    return TestClient(app), {API_KEY_HEADER: viewer}, {API_KEY_HEADER: admin}, app


def test_every_router_is_mounted(setup) -> None:
    _, _, _, app = setup
    published = set(app.openapi()["paths"])
    for router in ROUTERS:
        assert {route.path.replace(":path", "") for route in router.routes} <= published


def test_health_needs_no_key(setup) -> None:
    client, *_ = setup
    assert client.get("/health").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("key", "status", "text"),
    [
        (None, 401, "missing API key"),
        ("not-a-key", 401, "unknown or revoked"),
        ("viewer", 403, "needs admin"),
    ],
)
def test_admin_routes_need_an_admin_key(setup, key: str | None, status: int, text: str) -> None:
    client, viewer, _, _ = setup
    headers = viewer if key == "viewer" else ({API_KEY_HEADER: key} if key else {})
    response = client.post("/v1/admin/reload", headers=headers)
    assert response.status_code == status
    assert text in response.json()["detail"]


def test_reload_with_the_registry_down_is_503_and_keeps_serving(setup) -> None:
    client, _, admin, _ = setup
    response = client.post("/v1/admin/reload", headers=admin)
    assert response.status_code == 503
    assert "still serving what was loaded" in response.json()["detail"]


def test_scoring_limits_answer_413_before_any_scoring(setup) -> None:
    client, viewer, _, _ = setup
    three = {"lines": [LINE_EXAMPLE] * 3}
    response = client.post("/v1/order-lines/score", json=three, headers=viewer)
    assert response.status_code == 413
    assert "at most 2 per request" in response.json()["detail"]
    explained = {"lines": [LINE_EXAMPLE] * 2, "explain": True}
    response = client.post("/v1/order-lines/score", json=explained, headers=viewer)
    assert response.status_code == 413
    assert "drivers for 2 lines; at most 1" in response.json()["detail"]


def test_drift_report_before_any_batch_is_404(setup) -> None:
    client, viewer, _, _ = setup
    response = client.get("/v1/drift/report?model=disruption", headers=viewer)
    assert response.status_code == 404
    assert "no disruption drift report yet" in response.json()["detail"]


def test_a_service_still_loading_answers_503(setup) -> None:
    client, viewer, _, app = setup
    del app.dependency_overrides[deps.current_deployment]
    app.dependency_overrides[deps.get_holder] = lambda: StubHolder(None)
    response = client.get("/v1/models", headers=viewer)
    assert response.status_code == 503
    assert response.json()["detail"] == "the service is still loading"


def test_validation_errors_name_the_field(setup) -> None:
    client, viewer, _, _ = setup
    bad = {"lines": [{**LINE_EXAMPLE, "order_date": "someday"}]}
    response = client.post("/v1/order-lines/score", json=bad, headers=viewer)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "lines[0].order_date"
