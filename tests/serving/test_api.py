"""The API against a real trained stack: every endpoint's happy path, errors, auth and limits."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serving import schemas
from serving.app import create_app
from supplierrisk.modeling.scoring import history_at, score_new_lines
from supplierrisk.schema import conform
from supplierrisk.service.apikeys import create_key, revoke_key
from supplierrisk.tracking import MODEL_NAMES, connect, load_model
from tests.stack import Stack, line

pytestmark = pytest.mark.slow


def test_health_and_ready_are_open_and_say_what_is_loaded(api: TestClient, stack: Stack) -> None:
    assert api.get("/health").json() == {"status": "ok"}
    ready = api.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready", body["problems"]
    assert body["models"] == {"otd": "1", "disruption": "1"}
    assert body["history_as_of"] == "2025-01-01"
    assert body["batch"]["as_of"] == "2025-01-01"
    assert body["batch_age_days"] >= 0
    assert body["registry_reachable"] is True
    assert body["auth"] == "keys"


def test_models_show_champion_and_challenger_with_backtest_against_baselines(
    api: TestClient, stack: Stack
) -> None:
    response = api.get("/v1/models", headers=stack.headers())
    assert response.status_code == 200
    body = response.json()
    assert body["loaded"] == {"otd": "1", "disruption": "1"}
    for kind in ("otd", "disruption"):
        champion = body["models"][kind]["champion"]
        assert champion["version"] == "1"
        assert champion["training_as_of"] == "2025-01-01"
        assert champion["data_window"].endswith("..2025-01-01")
        assert set(champion["backtest"]["model"]) >= {"roc_auc", "brier", "log_loss", "ece"}
        assert len(champion["backtest"]) >= 3  # the model and its baselines on the same folds
        assert body["models"][kind]["challenger"]["version"] == "1"
    assert {"global_rate", "supplier_trailing_rate"} <= set(body["models"]["otd"]["champion"]["backtest"])
    assert response.headers["X-Model-Versions"] == "disruption=1, otd=1"


def test_score_one_line_gives_probability_band_and_delay_quantiles(api: TestClient, stack: Stack) -> None:
    response = api.post("/v1/order-lines/score", json={"lines": [line(stack)]}, headers=stack.headers())
    assert response.status_code == 200, response.text
    body = response.json()
    schemas.ScoreResponse.model_validate(body)  # the hand-built JSON keeps the documented contract
    assert body["model"] == {"name": MODEL_NAMES["otd"], "version": "1"}
    assert body["as_of"] == body["history_as_of"] == "2025-01-01"
    (scored,) = body["lines"]
    assert 0.0 < scored["p_late"] < 1.0
    assert scored["risk_band"] in {"low", "medium", "high"}
    assert 0.0 <= scored["delay_p50_days"] <= scored["delay_p90_days"]
    assert scored["delay_if_late_p50_days"] <= scored["delay_if_late_p90_days"]
    assert scored["known_supplier"] is True
    assert scored["drivers"] is None
    assert response.headers["X-Model-Versions"] == "disruption=1, otd=1"
    assert response.headers["Server-Timing"].startswith("app;dur=")


def test_api_scores_equal_the_library_path_used_by_training_and_batch(api: TestClient, stack: Stack) -> None:
    lines = stack.history.tail(40)
    records = []
    for row in lines.to_dict("records"):
        record = {k: row[k] for k in ("po_id", "line_id", "supplier_id", "category", "ship_mode", "incoterm")}
        record |= {k: row[k] for k in ("quantity_ordered", "unit_price", "supplier_country", "destination")}
        record |= {k: row[k].date().isoformat() for k in ("order_date", "promised_date")}
        record |= {"extra_priority": row["extra_priority"], "extra_distance_km": row["extra_distance_km"]}
        records.append(record)
    response = api.post("/v1/order-lines/score", json={"lines": records}, headers=stack.headers())
    assert response.status_code == 200, response.text
    schemas.ScoreResponse.model_validate(response.json())
    model, _ = load_model(connect(stack.settings), MODEL_NAMES["otd"])
    at = history_at(stack.history, pd.Timestamp("2025-01-01"), model.feature_config, suppliers=False)
    expected = score_new_lines(model, at, lines.reset_index(drop=True), at.as_of)
    got = [x["p_late"] for x in response.json()["lines"]]
    assert got == pytest.approx(expected["p_late"].tolist(), abs=1e-12)


def test_scoring_as_of_an_earlier_day_uses_only_what_was_known_then(api: TestClient, stack: Stack) -> None:
    day = pd.Timestamp("2024-06-01")
    request = {
        "lines": [line(stack, order_date="2024-05-20", promised_date="2024-07-01")],
        "as_of": "2024-06-01",
    }
    response = api.post("/v1/order-lines/score", json=request, headers=stack.headers())
    assert response.status_code == 200, response.text
    assert response.json()["as_of"] == "2024-06-01"
    # The store as it was on that day, with every later outcome scrambled away, gives the same score.
    truncated = stack.history.loc[stack.history["order_date"] <= day].copy()
    late = truncated["delivered_date"] > day
    truncated.loc[late, "delivered_date"] = truncated.loc[late, "delivered_date"] + pd.Timedelta(days=90)
    model, _ = load_model(connect(stack.settings), MODEL_NAMES["otd"])
    at = history_at(truncated, day, model.feature_config, suppliers=False)
    frame = conform(pd.DataFrame([line(stack, order_date="2024-05-20", promised_date="2024-07-01")]))
    expected = score_new_lines(model, at, frame, day)
    assert response.json()["lines"][0]["p_late"] == pytest.approx(
        float(expected["p_late"].iloc[0]), abs=1e-12
    )


def test_drivers_on_request_are_sentences_with_contributions(api: TestClient, stack: Stack) -> None:
    request = {"lines": [line(stack)], "explain": True, "top_drivers": 4}
    response = api.post("/v1/order-lines/score", json=request, headers=stack.headers())
    schemas.ScoreResponse.model_validate(response.json())
    drivers = response.json()["lines"][0]["drivers"]
    assert len(drivers) == 4
    contributions = [d["contribution"] for d in drivers]
    assert contributions == sorted(contributions, reverse=True)
    assert all(d["text"] and d["direction"] in {"raises risk", "lowers risk"} for d in drivers)


def test_new_supplier_and_unseen_values_are_scored_and_flagged(api: TestClient, stack: Stack) -> None:
    request = {"lines": [line(stack, supplier_id="NEW-SUPPLIER", category="Never seen", ship_mode="Rocket")]}
    scored = api.post("/v1/order-lines/score", json=request, headers=stack.headers()).json()["lines"][0]
    assert scored["known_supplier"] is False
    assert scored["unseen_values"] == {"category": "Never seen", "ship_mode": "Rocket"}
    assert 0.0 < scored["p_late"] < 1.0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"supplier_id": None}, "lines[0].supplier_id"),
        ({"quantity_ordered": "many"}, "lines[0].quantity_ordered"),
        ({"quantity_ordered": -1}, "lines[0].quantity_ordered"),
        ({"order_date": "2024-13-45"}, "lines[0].order_date"),
        ({"order_date": "yesterday"}, "lines[0].order_date"),
        ({"promised_date": "2024-11-01"}, "lines[0].promised_date"),
        ({"promised_date": "9999-01-01"}, "lines[0].promised_date"),
        ({"po_id": ""}, "lines[0].po_id"),
        ({"colour": "red"}, "lines[0]"),
        ({"extra_colour": ["red", "blue"]}, "lines[0].extra_colour"),
        ({"extra_size": {"cm": 3}}, "lines[0].extra_size"),
    ],
)
def test_malformed_lines_get_422_with_the_field_path(
    api: TestClient, stack: Stack, change: dict[str, object], field: str
) -> None:
    body = line(stack, **change)
    body = {k: v for k, v in body.items() if v is not None}
    response = api.post("/v1/order-lines/score", json={"lines": [line(stack), body]}, headers=stack.headers())
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["detail"]]
    assert fields == [field.replace("[0]", "[1]")], response.json()


def test_an_unknown_field_and_an_odd_extra_value_are_named_in_one_error_each(
    api: TestClient, stack: Stack
) -> None:
    bad = line(stack, colour="red", extra_size={"cm": 3})
    response = api.post("/v1/order-lines/score", json={"lines": [line(stack), bad]}, headers=stack.headers())
    assert response.status_code == 422
    messages = {e["field"]: e["msg"] for e in response.json()["detail"]}
    assert set(messages) == {"lines[1].extra_size"}  # fields first: the request-level check waits for them
    assert "an extra field must be a string, a number, true/false or null" in messages["lines[1].extra_size"]
    response = api.post(
        "/v1/order-lines/score", json={"lines": [line(stack, colour="red")] * 2}, headers=stack.headers()
    )
    assert [(e["field"], "unknown field(s) colour" in e["msg"]) for e in response.json()["detail"]] == [
        ("lines[0]", True),
        ("lines[1]", True),
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"lines": []}, "lines"),
        ({}, "lines"),
        ({"lines": "abc"}, "lines"),
        ({"lines": [{}], "top_drivers": 99}, None),
        ({"lines": [], "surprise": 1}, None),
    ],
)
def test_malformed_bodies_get_422(
    api: TestClient, stack: Stack, payload: dict[str, object], field: str | None
) -> None:
    response = api.post("/v1/order-lines/score", json=payload, headers=stack.headers())
    assert response.status_code == 422
    if field is not None:
        assert field in [e["field"] for e in response.json()["detail"]]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_body_that_is_not_json_gets_422(api: TestClient, stack: Stack, token: str) -> None:
    headers = stack.headers() | {"Content-Type": "application/json"}
    response = api.post("/v1/order-lines/score", content=b"{not json", headers=headers)
    assert response.status_code == 422
    assert "JSON decode error" in response.json()["detail"][0]["msg"], response.json()
    # Python's json module reads these tokens; they are not JSON, and the parser refuses them as such.
    text = json.dumps({"lines": [line(stack, quantity_ordered=1.5)]}).replace("1.5", token)
    response = api.post("/v1/order-lines/score", content=text.encode(), headers=headers)
    assert response.status_code == 422
    assert "JSON decode error" in response.json()["detail"][0]["msg"], response.json()


def test_as_of_after_the_history_gets_422(api: TestClient, stack: Stack) -> None:
    request = {"lines": [line(stack)], "as_of": "2025-06-01"}
    response = api.post("/v1/order-lines/score", json=request, headers=stack.headers())
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "as_of"


def test_too_many_lines_or_too_large_a_body_gets_413(stack: Stack) -> None:
    settings = stack.settings.model_copy(
        update={"api_max_lines": 5, "api_max_explained_lines": 2, "api_max_body_bytes": 4096}
    )
    with TestClient(create_app(settings)) as client:
        headers = stack.headers()
        six = {"lines": [line(stack, po_id=f"P{i}") for i in range(6)]}
        assert client.post("/v1/order-lines/score", json=six, headers=headers).status_code == 413
        three = {"lines": [line(stack, po_id=f"P{i}") for i in range(3)], "explain": True}
        assert client.post("/v1/order-lines/score", json=three, headers=headers).status_code == 413
        big = json.dumps({"lines": [line(stack, po_id="x" * 190) for _ in range(30)]}).encode()
        response = client.post(
            "/v1/order-lines/score", content=big, headers=headers | {"Content-Type": "application/json"}
        )
        assert response.status_code == 413
        assert "4096 bytes" in response.json()["detail"]

        def chunks():  # no Content-Length: the limit is enforced while streaming
            for start in range(0, len(big), 1000):
                yield big[start : start + 1000]

        response = client.post(
            "/v1/order-lines/score", content=chunks(), headers=headers | {"Content-Type": "application/json"}
        )
        assert response.status_code == 413
        assert (
            client.post(
                "/v1/order-lines/score", json={"lines": six["lines"][:5]}, headers=headers
            ).status_code
            == 200
        )


def test_keys_and_roles(api: TestClient, stack: Stack) -> None:
    assert api.get("/v1/suppliers").status_code == 401
    assert api.get("/v1/suppliers", headers={"X-API-Key": "sr_not-a-key"}).status_code == 401
    assert api.get("/v1/suppliers", headers=stack.headers("viewer")).status_code == 200
    assert api.get("/v1/suppliers", headers=stack.headers("admin")).status_code == 200
    forbidden = api.post("/v1/admin/reload", headers=stack.headers("viewer"))
    assert forbidden.status_code == 403
    assert "admin" in forbidden.json()["detail"]
    assert api.post("/v1/admin/reload", headers=stack.headers("admin")).status_code == 200


def test_a_revoked_key_is_refused_at_its_next_request(api: TestClient, stack: Stack) -> None:
    key, _ = create_key(stack.settings.keys_path, "viewer", "short-lived")
    assert api.get("/v1/categories", headers={"X-API-Key": key}).status_code == 200
    revoke_key(stack.settings.keys_path, "short-lived")
    assert api.get("/v1/categories", headers={"X-API-Key": key}).status_code == 401


def test_keys_never_reach_the_log(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(stack.settings)) as client:
        client.get("/v1/suppliers", headers=stack.headers("viewer"))
        client.get("/v1/suppliers", headers={"X-API-Key": "sr_wrong-key-value"})
        client.post("/v1/admin/reload", headers=stack.headers("admin"))
    text = caplog.text
    assert stack.viewer not in text
    assert stack.admin not in text
    assert "sr_wrong-key-value" not in text


def test_development_mode_without_keys_is_explicit_and_loud(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    settings = stack.settings.model_copy(update={"api_auth_disabled": True})
    with caplog.at_level(logging.WARNING), TestClient(create_app(settings)) as client:
        assert client.get("/v1/suppliers").status_code == 200
        assert client.get("/ready").json()["auth"] == "disabled"
    assert "API AUTH DISABLED" in caplog.text


def test_suppliers_are_sorted_by_risk_and_paged_without_gaps(api: TestClient, stack: Stack) -> None:
    full = api.get("/v1/suppliers?limit=1000", headers=stack.headers()).json()
    assert full["total"] == len(full["items"]) > 10
    risks = [s["p_disruption"] for s in full["items"]]
    assert risks == sorted(risks, reverse=True)
    pages = []
    for offset in range(0, full["total"], 7):
        pages += api.get(f"/v1/suppliers?limit=7&offset={offset}", headers=stack.headers()).json()["items"]
    assert [s["supplier_id"] for s in pages] == [s["supplier_id"] for s in full["items"]]
    first = full["items"][0]
    assert first["risk_score"] == round(100 * first["p_disruption"])
    kpi = first["kpis"]["otd_rate"]
    assert kpi["lo"] <= kpi["value"] <= kpi["hi"]


def test_supplier_filters_and_sorts(api: TestClient, stack: Stack) -> None:
    headers = stack.headers()
    batch = stack.settings.batches_dir
    pairs = pd.read_parquet(next(batch.glob("*/supplier_categories.parquet")))
    category = str(pairs["category"].iloc[0])
    members = set(pairs.loc[(pairs["category"] == category) & (pairs["spend"] > 0), "supplier_id"])
    in_category = api.get(
        "/v1/suppliers", params={"category": category, "limit": 1000}, headers=headers
    ).json()
    assert {s["supplier_id"] for s in in_category["items"]} <= members
    assert in_category["total"] > 0
    country = in_category["items"][0]["supplier_country"]
    by_country = api.get(
        "/v1/suppliers", params={"country": country.upper(), "limit": 1000}, headers=headers
    ).json()
    assert by_country["total"] > 0
    assert all(s["supplier_country"] == country for s in by_country["items"])
    medium_up = api.get("/v1/suppliers?min_band=medium&limit=1000", headers=headers).json()["items"]
    assert all(s["risk_band"] in {"medium", "high"} for s in medium_up)
    worst_otd = api.get("/v1/suppliers?sort=otd&limit=1000", headers=headers).json()["items"]
    rates = [s["kpis"]["otd_rate"]["value"] for s in worst_otd if s["kpis"]["otd_rate"]["value"] is not None]
    assert rates == sorted(rates)
    spend = api.get("/v1/suppliers?sort=spend&order=asc&limit=1000", headers=headers).json()["items"]
    spends = [s["kpis"]["spend"] for s in spend if s["kpis"]["spend"] is not None]
    assert spends == sorted(spends)
    assert api.get("/v1/suppliers?country=Atlantis", headers=headers).json()["total"] == 0
    for bad in ("sort=name", "min_band=extreme", "limit=0", "limit=5000", "offset=-1"):
        assert api.get(f"/v1/suppliers?{bad}", headers=headers).status_code == 422, bad


def test_supplier_page_has_drivers_trend_open_lines_and_categories(api: TestClient, stack: Stack) -> None:
    headers = stack.headers()
    items = api.get("/v1/suppliers?limit=1000", headers=headers).json()["items"]
    chosen = next(s for s in items if s["open_lines_scored"] > 1)
    detail = api.get(f"/v1/suppliers/{chosen['supplier_id']}", headers=headers)
    assert detail.status_code == 200
    body = detail.json()
    assert body["p_disruption"] == chosen["p_disruption"]
    assert len(body["drivers"]) == 3
    assert all(d["text"] for d in body["drivers"])
    assert re.fullmatch(
        r"late share \d+% over the last 90 days \(\d+ of \d+ lines\) against a usual \d+%"
        r"|no outcome known in the last 90 days to compare with its usual late share",
        body["recent_change"],
    ), body["recent_change"]
    assert [q["quarter"] for q in body["kpi_trend"]] == ["2024Q2", "2024Q3", "2024Q4", "2025Q1"]
    p_late = [x["p_late"] for x in body["open_lines"]]
    assert len(p_late) == chosen["open_lines_scored"]
    assert p_late == sorted(p_late, reverse=True)
    shares = [c["share_of_supplier_spend"] for c in body["categories"]]
    assert sum(shares) == pytest.approx(1.0)
    assert body["batch"]["as_of"] == "2025-01-01"
    schemas.SupplierDetail.model_validate(body)
    # Asked again, the page comes from the deployment's memo: the same bytes and headers.
    again = api.get(f"/v1/suppliers/{chosen['supplier_id']}", headers=headers)
    assert again.content == detail.content
    assert again.headers["x-model-versions"] == detail.headers["x-model-versions"] != ""
    assert again.headers["content-type"] == "application/json"


def test_unknown_supplier_or_category_is_404(api: TestClient, stack: Stack) -> None:
    assert api.get("/v1/suppliers/NOPE", headers=stack.headers()).status_code == 404
    assert api.get("/v1/suppliers/A%2FB%20C", headers=stack.headers()).status_code == 404
    assert api.get("/v1/categories/Nothing", headers=stack.headers()).status_code == 404


def test_categories_roll_up_concentration_and_alternatives(api: TestClient, stack: Stack) -> None:
    headers = stack.headers()
    categories = api.get("/v1/categories", headers=headers).json()["items"]
    assert categories
    assert all(0 <= (c["hhi"] or 0) <= 10_000 for c in categories)
    name = max(categories, key=lambda c: c["n_suppliers"])["category"]
    detail = api.get(f"/v1/categories/{name}", headers=headers).json()
    suppliers = detail["suppliers"]
    assert [s["spend"] for s in suppliers] == sorted([s["spend"] for s in suppliers], reverse=True)
    shares = [s["spend_share"] for s in suppliers]
    assert detail["hhi"] == pytest.approx(sum((100 * s) ** 2 for s in shares), rel=0.05)
    assert detail["replacing"] == suppliers[0]["supplier_id"]
    alternatives = detail["alternatives"]
    assert detail["replacing"] not in {a["supplier_id"] for a in alternatives}
    assert len(alternatives) == len(suppliers) - 1
    risks = [a["p_disruption"] for a in alternatives]
    assert risks == sorted(risks)
    other = suppliers[-1]["supplier_id"]
    swapped = api.get(f"/v1/categories/{name}", params={"replacing": other}, headers=headers).json()
    assert swapped["replacing"] == other
    assert other not in {a["supplier_id"] for a in swapped["alternatives"]}
    assert api.get(f"/v1/categories/{name}?replacing=NOPE", headers=headers).status_code == 404


def test_drift_summary_and_report(api: TestClient, stack: Stack) -> None:
    body = api.get("/v1/drift", headers=stack.headers()).json()
    assert body["available"] is True
    assert body["batch"]["as_of"] == "2025-01-01"
    assert {"otd", "disruption", "alert"} <= set(body["summary"])
    for model in ("otd", "disruption"):
        report = api.get(f"/v1/drift/report?model={model}", headers=stack.headers())
        assert report.status_code == 200
        assert report.headers["content-type"].startswith("text/html")
    assert api.get("/v1/drift/report?model=other", headers=stack.headers()).status_code == 422


def test_empty_home_answers_503_and_documented_empty_states(tmp_path: Path, stack: Stack) -> None:
    settings = stack.settings.model_copy(
        update={"home": tmp_path / "empty", "mlflow_tracking_uri": None, "mlflow_artifact_root": None}
    )
    create_key(settings.keys_path, "viewer", "v")
    key = next(iter(json.loads(settings.keys_path.read_text())["keys"]))
    del key
    with TestClient(create_app(settings.model_copy(update={"api_auth_disabled": True}))) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert any("champion" in p for p in ready.json()["problems"])
        scored = client.post("/v1/order-lines/score", json={"lines": [line(stack)]})
        assert scored.status_code == 503
        assert "no OTD champion" in scored.json()["detail"]
        assert client.get("/v1/suppliers").status_code == 503
        assert client.get("/v1/drift").json() == {"available": False, "batch": None, "summary": None}
        assert client.get("/v1/drift/report").status_code == 404
        assert client.get("/v1/models").json()["loaded"] == {}
