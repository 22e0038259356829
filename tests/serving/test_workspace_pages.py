"""The workspace's pages over the real stack: login and sessions, the figures against the API's, exports."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from pipelines.kpis import run_kpis
from serving.app import create_app
from serving.ui import CONTENT_SECURITY_POLICY
from supplierrisk.batch import folders
from supplierrisk.batch.compute import BATCH_WINDOW_DAYS
from supplierrisk.kpis import kpi_params
from supplierrisk.service.apikeys import revoke_key
from supplierrisk.service.websession import SESSION_COOKIE
from supplierrisk.service.workspace import category_kpis
from supplierrisk.storage import load_store
from tests.stack import Stack, copy_home

XSS = "<script>alert(1)</script>"


def login(client: TestClient, key: str, next_url: str = "/ui/") -> object:
    form = client.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(
        "/ui/login",
        data={"api_key": key, "csrf_token": token.group(1), "next": next_url},
        follow_redirects=False,
    )


@pytest.fixture(scope="module")
def web(stack: Stack) -> Iterator[TestClient]:
    with TestClient(create_app(stack.settings), follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="module")
def viewer(stack: Stack, web: TestClient) -> TestClient:
    response = login(web, stack.viewer)
    assert response.status_code == 303  # type: ignore[attr-defined]
    return web


def section(page: str, table: str) -> str:
    """The HTML of one table block of a page."""
    found = re.search(rf'<section class="table-block" id="table-{table}".*?</section>', page, re.S)
    assert found is not None, table
    return found.group(0)


def otd_cells(page: str) -> list[tuple[str, str]]:
    """(supplier, OTD cell text) of each row of a suppliers table."""
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    out = []
    for row in rows:
        supplier = re.search(r'data-col="supplier_id"><a href="[^"]+">([^<]+)</a>', row)
        otd = re.search(r'data-col="otd_rate">(.*?)</td>', row, re.S)
        if supplier and otd:
            out.append((supplier.group(1), re.sub(r"<[^>]+>", "", otd.group(1))))
    return out


def busiest_category(stack: Stack, api: TestClient) -> str:
    items = api.get("/v1/categories", headers=stack.headers()).json()["items"]
    return max(items, key=lambda c: c["n_suppliers"])["category"]


def csrf_of(client: TestClient, path: str = "/ui/") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def test_login_sets_a_strict_httponly_expiring_cookie_and_redirects_to_next(stack: Stack) -> None:
    with TestClient(create_app(stack.settings), follow_redirects=False) as client:
        response = login(client, stack.viewer, "/ui/lines")
        assert response.status_code == 303
        assert response.headers["location"] == "/ui/lines"
        cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Path=/ui" in cookie
        assert f"Max-Age={stack.settings.ui_session_minutes * 60}" in cookie
        assert stack.viewer not in cookie
        page = client.get("/ui/lines")
        assert page.status_code == 200
        assert "test-viewer (viewer)" in page.text
        # Logging out needs the CSRF token, then ends the session.
        assert client.post("/ui/logout", data={"csrf_token": "wrong"}).status_code == 403
        out = client.post("/ui/logout", data={"csrf_token": csrf_of(client)})
        assert out.headers["location"] == "/ui/login?reason=logout"
        assert client.get("/ui/").status_code == 303


def test_login_refuses_bad_keys_forms_without_token_and_other_sites(stack: Stack) -> None:
    with TestClient(create_app(stack.settings), follow_redirects=False) as client:
        assert login(client, "sr_not-a-key").status_code == 401
        no_token = client.post("/ui/login", data={"api_key": stack.viewer, "csrf_token": ""})
        assert no_token.status_code == 403
        assert "The login form expired" in no_token.text
        # An open redirect is not followed: only paths inside the workspace.
        assert login(client, stack.viewer, "//evil.example/x").headers["location"] == "/ui/"
        assert login(client, stack.viewer, "https://evil.example/").headers["location"] == "/ui/"


def test_failed_logins_are_rate_limited_and_a_valid_key_does_not_reset_the_count(stack: Stack) -> None:
    settings = stack.settings.model_copy(update={"ui_login_attempts": 3})
    with TestClient(create_app(settings), follow_redirects=False) as client:
        assert login(client, "sr_wrong").status_code == 401
        assert login(client, stack.viewer).status_code == 303  # a success forgives nothing
        assert client.get("/ui/", headers={"X-API-Key": "sr_wrong"}).status_code == 401  # pages count too
        assert login(client, "sr_wrong").status_code == 401
        refused = login(client, stack.viewer)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "Too many failed logins" in refused.text
        assert client.get("/ui/", headers=stack.headers()).status_code == 429


def test_a_page_without_a_session_redirects_to_login_and_a_key_header_also_works(
    stack: Stack, web: TestClient
) -> None:
    with TestClient(create_app(stack.settings), follow_redirects=False) as fresh:
        response = fresh.get("/ui/lines?band=high")
        assert response.status_code == 303
        assert response.headers["location"] == "/ui/login?next=%2Fui%2Flines%3Fband%3Dhigh"
        assert fresh.get("/ui/lines", headers=stack.headers()).status_code == 200
        assert fresh.get("/ui/lines", headers={"X-API-Key": "sr_wrong"}).status_code == 401


def test_a_tampered_cookie_is_refused_and_cleared(stack: Stack, viewer: TestClient) -> None:
    good = viewer.cookies.get(SESSION_COOKIE)
    assert good
    with TestClient(create_app(stack.settings), follow_redirects=False) as client:
        # Change one character of the signed payload (its role, its key name or its nonce).
        at = next(i for i in range(len(good) // 3, len(good)) if good[i] not in ".-_")
        tampered = good[:at] + ("A" if good[at] != "A" else "B") + good[at + 1 :]
        client.cookies.set(SESSION_COOKIE, tampered, path="/ui")
        response = client.get("/ui/")
        assert response.status_code == 303
        assert "reason=invalid" in response.headers["location"]
        assert any(h.startswith(f'{SESSION_COOKIE}=""') for h in response.headers.get_list("set-cookie"))


def test_an_expired_cookie_redirects_to_login(
    stack: Stack, viewer: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    cookie = viewer.cookies.get(SESSION_COOKIE)
    later = time.time() + stack.settings.ui_session_minutes * 60 + 5
    with TestClient(create_app(stack.settings), follow_redirects=False) as client:
        client.cookies.set(SESSION_COOKIE, cookie, path="/ui")
        assert client.get("/ui/").status_code == 200
        monkeypatch.setattr(time, "time", lambda: later)
        response = client.get("/ui/")
        assert response.status_code == 303
        assert "reason=expired" in response.headers["location"]
        assert "Your session has expired" in client.get(response.headers["location"]).text


def test_revoking_a_key_ends_its_sessions(stack: Stack, tmp_path: Path) -> None:
    settings = copy_home(stack, tmp_path / "home")
    with TestClient(create_app(settings), follow_redirects=False) as client:
        assert login(client, stack.viewer).status_code == 303
        assert client.get("/ui/").status_code == 200
        revoke_key(settings.keys_path, "test-viewer")
        response = client.get("/ui/")
        assert "reason=revoked" in response.headers["location"]


def test_pages_carry_security_headers_and_assets_are_served_locally(stack: Stack, viewer: TestClient) -> None:
    page = viewer.get("/ui/")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert scripts == [
        "/ui/static/vendor/htmx.min.js",
        "/ui/static/vendor/vega.min.js",
        "/ui/static/vendor/vega-lite.min.js",
        "/ui/static/vendor/vega-embed.min.js",
        "/ui/static/workspace.js",
    ]
    for script in scripts:
        asset = viewer.get(script)
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith("text/javascript")
        assert len(asset.content) > 500
    assert 'src="http' not in page.text
    assert 'href="http' not in page.text


def test_home_lists_every_category_with_the_apis_figures(
    stack: Stack, viewer: TestClient, api: TestClient
) -> None:
    page = viewer.get("/ui/")
    assert page.status_code == 200
    categories = api.get("/v1/categories", headers=stack.headers()).json()
    assert f"Batch as of <strong>{categories['batch']['as_of']}</strong>" in page.text
    for item in categories["items"]:
        otd = item["otd_rate"]
        shown = (
            f"{otd['value']:.1%} [{otd['lo']:.1%}–{otd['hi']:.1%}]"
            if otd["value"] is not None
            else "insufficient"
        )
        row = re.search(
            rf'href="/ui/categories/{re.escape(quote(item["category"], safe=""))}".*?</tr>', page.text, re.S
        )
        assert row is not None, item["category"]
        assert shown in row.group(0)


def test_one_otd_definition_on_the_page_in_the_api_and_in_the_kpis_command(
    stack: Stack, viewer: TestClient, api: TestClient
) -> None:
    category = busiest_category(stack, api)
    detail = api.get(f"/v1/categories/{quote(category)}", headers=stack.headers()).json()
    supplier = detail["suppliers"][0]
    page = section(viewer.get(f"/ui/categories/{quote(category, safe='')}").text, "suppliers")
    row = re.search(
        rf'href="/ui/suppliers/{re.escape(quote(supplier["supplier_id"], safe=""))}".*?</tr>', page, re.S
    )
    assert row is not None
    otd = supplier["otd_rate"]
    assert f"{otd['value']:.1%} [{otd['lo']:.1%}–{otd['hi']:.1%}]" in row.group(0)
    # The supplier page's overall OTD is the API's, and `supplierrisk kpis` computes the same figure.
    one = api.get(f"/v1/suppliers/{quote(supplier['supplier_id'])}", headers=stack.headers()).json()
    overall = one["kpis"]["otd_rate"]
    supplier_page = viewer.get(f"/ui/suppliers/{quote(supplier['supplier_id'], safe='')}").text
    kpi = re.search(r'data-kpi="otd_rate">(.*?)</dd>', supplier_page)
    assert kpi is not None
    assert kpi.group(1) == f"{overall['value']:.1%} [{overall['lo']:.1%}–{overall['hi']:.1%}]"
    as_of = pd.Timestamp(detail["batch"]["as_of"])
    command = run_kpis(stack.settings, as_of, BATCH_WINDOW_DAYS, "supplier").table.set_index("supplier_id")
    assert command.loc[supplier["supplier_id"], "otd_rate"] == pytest.approx(overall["value"])
    assert command.loc[supplier["supplier_id"], "otd_rate_lo"] == pytest.approx(overall["lo"])


def test_a_chosen_window_recomputes_with_compute_kpis_and_the_batch_window_matches_the_batch(
    stack: Stack, viewer: TestClient, api: TestClient
) -> None:
    category = busiest_category(stack, api)
    detail = api.get(f"/v1/categories/{quote(category)}", headers=stack.headers()).json()
    as_of = pd.Timestamp(detail["batch"]["as_of"])
    history = load_store(stack.settings.store_path)
    # At the batch's own window the recomputation is the batch (one definition, two paths).
    recomputed = category_kpis(history, category, as_of, BATCH_WINDOW_DAYS, kpi_params(stack.settings))
    by_id = recomputed.set_index("supplier_id")
    for supplier in detail["suppliers"]:
        expected = supplier["otd_rate"]["value"]
        assert by_id.loc[supplier["supplier_id"], "otd_rate"] == pytest.approx(expected, nan_ok=True)
    # A 90-day window: the page shows compute_kpis over 90 days, which differs from the batch's.
    short = category_kpis(history, category, as_of, 90, kpi_params(stack.settings)).set_index("supplier_id")
    page = section(viewer.get(f"/ui/categories/{quote(category, safe='')}?window=90").text, "suppliers")
    shown = dict(otd_cells(page))
    assert set(shown) == {s["supplier_id"] for s in detail["suppliers"]}
    differs = 0
    for supplier in detail["suppliers"]:
        value = short["otd_rate"].get(supplier["supplier_id"], float("nan"))
        text = shown[supplier["supplier_id"]]
        if value == value:
            assert text.startswith(f"{value:.1%} [")
            batch = supplier["otd_rate"]["value"]
            differs += batch is not None and abs(value - batch) > 1e-9
        else:
            assert "insufficient data" in text
    assert differs > 0


def test_category_page_sorts_filters_by_band_and_exports_the_same_rows(
    stack: Stack, viewer: TestClient, api: TestClient
) -> None:
    category = busiest_category(stack, api)
    path = f"/ui/categories/{quote(category, safe='')}"
    detail = api.get(f"/v1/categories/{quote(category)}", headers=stack.headers()).json()
    band = detail["suppliers"][0]["risk_band"]
    page = viewer.get(f"{path}?window=90&band={band}&sort=otd_rate&order=asc")
    assert page.status_code == 200
    listed = re.findall(
        r'<td data-col="supplier_id"><a href="/ui/suppliers/[^"]+">([^<]+)</a>',
        section(page.text, "suppliers"),
    )
    expected = [s["supplier_id"] for s in detail["suppliers"] if s["risk_band"] == band]
    assert sorted(listed) == sorted(expected)
    # Worst 90-day OTD first, suppliers without a figure last.
    history = load_store(stack.settings.store_path)
    as_of = pd.Timestamp(detail["batch"]["as_of"])
    short = category_kpis(history, category, as_of, 90, kpi_params(stack.settings)).set_index("supplier_id")
    values = [short["otd_rate"].get(s, float("nan")) for s in listed]
    known = [v for v in values if v == v]
    assert known == sorted(known)
    assert values[: len(known)] == known
    assert 'aria-sort="ascending"' in page.text
    export = re.search(r'href="/ui/export\?([^"]+)&amp;format=csv"', page.text)
    assert export is not None
    download = viewer.get("/ui/export?" + export.group(1).replace("&amp;", "&") + "&format=csv")
    assert download.status_code == 200
    disposition = download.headers["content-disposition"]
    assert re.search(
        r'filename="supplierrisk_suppliers_.+_90d_' + band + r'_as-of-\d{4}-\d{2}-\d{2}\.csv"', disposition
    )
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8").lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == listed  # same rows, same order as on the page
    xlsx = viewer.get("/ui/export?" + export.group(1).replace("&amp;", "&") + "&format=xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")


def test_the_risk_chart_draws_the_apis_figures(stack: Stack, viewer: TestClient, api: TestClient) -> None:
    category = busiest_category(stack, api)
    detail = api.get(f"/v1/categories/{quote(category)}", headers=stack.headers()).json()
    page = viewer.get(f"/ui/categories/{quote(category, safe='')}").text
    block = re.search(
        r'<script type="application/json" data-chart="chart-risk-spend">(.*?)</script>', page, re.S
    )
    assert block is not None
    spec = json.loads(block.group(1))
    drawn = {v["supplier_id"]: v for v in spec["data"]["values"]}
    assert set(drawn) == {s["supplier_id"] for s in detail["suppliers"] if s["p_disruption"] is not None}
    for supplier in detail["suppliers"]:
        point = drawn[supplier["supplier_id"]]
        assert point["p_disruption"] == pytest.approx(supplier["p_disruption"])
        assert point["spend_share"] == pytest.approx(supplier["spend_share"], nan_ok=True)
        assert point["risk_band"] == supplier["risk_band"]


def test_every_table_of_the_supplier_page_exports(stack: Stack, viewer: TestClient, api: TestClient) -> None:
    first = api.get("/v1/suppliers?limit=1", headers=stack.headers()).json()["items"][0]
    page = viewer.get(f"/ui/suppliers/{quote(first['supplier_id'], safe='')}").text
    links = re.findall(r'href="/ui/export\?([^"]+)&amp;format=csv"', page)
    expected = api.get(f"/v1/suppliers/{quote(first['supplier_id'])}", headers=stack.headers()).json()
    tables = [re.search(r"table=(\w+)", link).group(1) for link in links]  # type: ignore[union-attr]
    # An empty table offers no export; the others all do.
    assert tables == [
        *(["open_lines"] if expected["open_lines"] else []),
        "categories_served",
        "alternatives",
    ]
    served = viewer.get(
        "/ui/export?" + links[tables.index("categories_served")].replace("&amp;", "&") + "&format=csv"
    )
    rows = list(csv.reader(io.StringIO(served.content.decode("utf-8").lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == [c["category"] for c in expected["categories"]]


def test_supplier_lines_and_monitoring_pages_render(
    stack: Stack, viewer: TestClient, api: TestClient
) -> None:
    first = api.get("/v1/suppliers?limit=1", headers=stack.headers()).json()["items"][0]
    page = viewer.get(f"/ui/suppliers/{quote(first['supplier_id'], safe='')}")
    assert page.status_code == 200
    assert f"Risk score <strong>{first['risk_score']}</strong>" in page.text
    assert "First order" in page.text
    assert 'data-chart="chart-kpi-trend"' in page.text
    lines = viewer.get("/ui/lines?band=medium&due=30")
    assert lines.status_code == 200
    monitoring = viewer.get("/ui/monitoring")
    assert monitoring.status_code == 200
    assert "champion: version" in monitoring.text
    assert "Drift of the latest batch" in monitoring.text
    assert "Promote to champion" not in monitoring.text  # a viewer sees no promote form
    assert viewer.get("/ui/monitoring/drift/otd").headers["content-type"].startswith("text/html")
    exports = re.findall(
        r'href="/ui/export\?page=monitoring&amp;table=(\w+)&amp;format=csv"', monitoring.text
    )
    assert {"backtest_otd_champion", "backtest_disruption_champion", "drift"} <= set(exports)
    backtest = viewer.get("/ui/export?page=monitoring&table=backtest_otd_champion&format=csv")
    rows = list(csv.reader(io.StringIO(backtest.content.decode("utf-8").lstrip("\ufeff"))))
    models = api.get("/v1/models", headers=stack.headers()).json()["models"]["otd"]["champion"]
    assert [r[0] for r in rows[1:]] == list(models["backtest"])


def test_bad_parameters_and_unknown_ids_are_html_errors_in_one_sentence(viewer: TestClient) -> None:
    unknown = viewer.get("/ui/suppliers/nobody-at-all")
    assert unknown.status_code == 404
    assert "is not active in the latest batch" in unknown.text
    assert viewer.get("/ui/categories/no-such-category").status_code == 404
    bad_window = viewer.get("/ui/categories/x?window=45")
    assert bad_window.status_code == 400
    assert "window must be one of 90, 180, 365 or custom" in bad_window.text
    assert viewer.get("/ui/lines?due=soon").status_code == 400
    assert viewer.get("/ui/?sort=drivers_json").status_code == 400
    assert viewer.get("/ui/export?page=home&table=secrets").status_code == 400


def test_a_viewer_cannot_promote_and_forms_need_the_csrf_token(stack: Stack, viewer: TestClient) -> None:
    form = {"kind": "otd", "version": "1", "reason": "try it", "csrf_token": csrf_of(viewer)}
    assert viewer.post("/ui/monitoring/promote", data=form).status_code == 403
    with TestClient(create_app(stack.settings), follow_redirects=False) as admin:
        assert login(admin, stack.admin).status_code == 303
        token = csrf_of(admin)
        no_token = admin.post("/ui/monitoring/promote", data={**form, "csrf_token": ""})
        assert no_token.status_code == 403
        assert "CSRF" in no_token.text
        elsewhere = admin.post(
            "/ui/monitoring/promote",
            data={**form, "csrf_token": token},
            headers={"Origin": "https://evil.example"},
        )
        assert elsewhere.status_code == 403


def test_templates_escape_a_supplier_named_like_a_script(stack: Stack, tmp_path: Path) -> None:
    settings = copy_home(stack, tmp_path / "home")
    folder = folders.latest_batch(settings.batches_dir)
    assert folder is not None
    renamed = str(pd.read_parquet(folder / "suppliers.parquet")["supplier_id"].iloc[0])
    for name in ("suppliers", "supplier_categories", "open_lines"):
        frame = pd.read_parquet(folder / f"{name}.parquet")
        frame["supplier_id"] = frame["supplier_id"].replace(renamed, XSS)
        frame.to_parquet(folder / f"{name}.parquet")
    shutil.rmtree(settings.home / "reports", ignore_errors=True)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        headers = {"X-API-Key": stack.viewer}
        pages = [client.get(f"/ui/suppliers/{quote(XSS, safe='')}", headers=headers)]
        category = pd.read_parquet(folder / "supplier_categories.parquet")
        served = category.loc[category["supplier_id"] == XSS, "category"].iloc[0]
        pages.append(client.get(f"/ui/categories/{quote(served, safe='')}", headers=headers))
        pages.append(client.get(f"/ui/lines?supplier={quote(XSS)}", headers=headers))
        for page in pages:
            assert page.status_code == 200
            assert XSS not in page.text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
