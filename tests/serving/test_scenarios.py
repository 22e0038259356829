"""Sourcing scenarios on a real stack: the trained champions, the CLI, the API and saved scenarios."""

from __future__ import annotations

import copy
import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.scenario import champions
from supplierrisk.features import latest_day
from supplierrisk.modeling.scoring import history_at
from supplierrisk.scenarios import (
    Allocation,
    DispersionMissingError,
    Models,
    ScenarioInputError,
    ScenarioRequest,
    Shift,
    run_scenario,
)
from tests.small_models import SMALL_DISRUPTION, SMALL_OTD
from tests.stack import Stack

ARMS = ("baseline", "scenario", "difference")


@pytest.fixture(scope="module")
def models(stack: Stack) -> Models:
    return champions(stack.settings)


def _category_and_pair(history: pd.DataFrame, as_of: pd.Timestamp) -> tuple[str, str, str]:
    """The busiest category of the last 90 days and its two largest suppliers."""
    recent = history.loc[
        (history["order_date"] > as_of - pd.Timedelta(days=90)) & (history["order_date"] <= as_of)
    ]
    category = str(recent["category"].value_counts().index[0])
    top = recent.loc[recent["category"] == category, "supplier_id"].value_counts().index
    return category, str(top[0]), str(top[1])


def _run(
    history: pd.DataFrame, models: Models, request: ScenarioRequest, as_of: pd.Timestamp
) -> dict[str, object]:
    at = history_at(history, as_of, models.otd.feature_config)
    return run_scenario(request, at, models).to_dict()


def test_a_shift_moves_volume_and_reports_both_arms_with_intervals(stack: Stack, models: Models) -> None:
    as_of = latest_day(stack.history)
    category, giver, taker = _category_and_pair(stack.history, as_of)
    request = ScenarioRequest(category, Allocation(shifts=(Shift(giver, taker, 0.5),)), runs=500)
    result = _run(stack.history, models, request, as_of)
    base, scen, diff = (result[a] for a in ARMS)
    assert isinstance(base, dict)
    assert isinstance(scen, dict)
    assert isinstance(diff, dict)
    for arm in (base, scen):
        assert arm["late_lines_p10"] <= arm["late_lines_p50"] <= arm["late_lines_p90"]
        assert arm["otd_p10"] <= arm["otd_p90"]
        assert 0 <= arm["otd"] <= 1
        assert arm["cvar95_late_value"] >= arm["expected_late_value"]
    suppliers = pd.DataFrame(result["suppliers"]).set_index("supplier_id")
    # Half the giver's lines moved to the taker, line by line.
    moved = suppliers.loc[giver, "lines_baseline"] - suppliers.loc[giver, "lines_scenario"]
    assert moved == pytest.approx(suppliers.loc[giver, "lines_baseline"] / 2)
    assert suppliers.loc[taker, "lines_scenario"] - suppliers.loc[taker, "lines_baseline"] == pytest.approx(
        moved
    )
    assert diff["expected_late_lines"] == pytest.approx(
        scen["expected_late_lines"] - base["expected_late_lines"]
    )
    assert suppliers["expected_late_lines_scenario"].sum() == pytest.approx(scen["expected_late_lines"])
    assert result["model_versions"] == models.versions


def test_moving_nothing_gives_the_baseline_draw_for_draw(stack: Stack, models: Models) -> None:
    as_of = latest_day(stack.history)
    category, giver, taker = _category_and_pair(stack.history, as_of)
    at = history_at(stack.history, as_of, models.otd.feature_config)
    result = run_scenario(
        ScenarioRequest(category, Allocation(shifts=(Shift(giver, taker, 0.0),)), runs=300), at, models
    )
    assert np.array_equal(result.late_lines["baseline"], result.late_lines["scenario"])
    assert result.difference["expected_late_lines"] == 0
    assert result.difference["late_lines_p90"] == 0


def test_the_baseline_is_the_same_whatever_the_scenario(stack: Stack, models: Models) -> None:
    as_of = latest_day(stack.history)
    category, giver, taker = _category_and_pair(stack.history, as_of)
    outsider = sorted(set(stack.history["supplier_id"]) - {giver, taker})[-1]
    at = history_at(stack.history, as_of, models.otd.feature_config)
    one = run_scenario(
        ScenarioRequest(category, Allocation(shifts=(Shift(giver, taker, 0.5),)), runs=300), at, models
    )
    other = run_scenario(
        ScenarioRequest(category, Allocation(shifts=(Shift(giver, outsider, 0.2),)), runs=300), at, models
    )
    assert np.array_equal(one.late_lines["baseline"], other.late_lines["baseline"])
    for key, value in one.baseline.items():
        assert other.baseline[key] == (
            pytest.approx(value, rel=1e-12) if isinstance(value, float) else value
        ), key
    assert one.scenario["expected_late_lines"] != other.scenario["expected_late_lines"]


def test_results_do_not_depend_on_row_order_nor_on_what_came_after_the_as_of(
    stack: Stack, models: Models
) -> None:
    as_of = latest_day(stack.history) - pd.Timedelta(days=120)
    category, giver, taker = _category_and_pair(stack.history, as_of)
    request = ScenarioRequest(category, Allocation(shifts=(Shift(giver, taker, 0.4),)), runs=300)
    first = _run(stack.history, models, request, as_of)
    shuffled = stack.history.sample(frac=1.0, random_state=3)
    assert _run(shuffled, models, request, as_of) == first
    # Point in time: rewriting every later order and every later outcome changes nothing.
    future = stack.history.copy()
    later = future["order_date"] > as_of
    future.loc[later, "supplier_id"] = giver
    delivered_later = future["delivered_date"] > as_of
    future.loc[delivered_later, "delivered_date"] = future.loc[
        delivered_later, "promised_date"
    ] + pd.Timedelta(days=60)
    assert _run(future, models, request, as_of) == first


def test_a_supplier_new_to_the_category_is_flagged(stack: Stack, models: Models) -> None:
    as_of = latest_day(stack.history)
    category, giver, _ = _category_and_pair(stack.history, as_of)
    outsiders = set(stack.history["supplier_id"]) - set(
        stack.history.loc[stack.history["category"] == category, "supplier_id"]
    )
    outsider = sorted(outsiders)[0]
    request = ScenarioRequest(category, Allocation(shifts=(Shift(giver, outsider, 0.2),)), runs=200)
    result = _run(stack.history, models, request, as_of)
    warnings = result["difference"]["warnings"]  # type: ignore[index]
    assert any(f"{outsider} has never delivered in category {category}" in w for w in warnings)


def test_planned_quantities_replace_the_last_period(stack: Stack, models: Models) -> None:
    as_of = latest_day(stack.history)
    category, giver, taker = _category_and_pair(stack.history, as_of)
    items = stack.history.loc[stack.history["category"] == category, "item_id"].dropna().unique()[:3]
    planned = pd.DataFrame({"item_id": items, "quantity": [10.0, 20.0, 30.0][: len(items)]})
    request = ScenarioRequest(
        category, Allocation(shares={giver: 0.5, taker: 0.5}), planned=planned, runs=200
    )
    result = _run(stack.history, models, request, as_of)
    assert result["template_lines"] == len(items)
    # Target shares are met exactly, on volume at the lines' own prices.
    shares = {r["supplier_id"]: r["share_scenario"] for r in result["suppliers"]}  # type: ignore[union-attr]
    assert shares[giver] == pytest.approx(0.5)
    assert shares[taker] == pytest.approx(0.5)
    assert result["scenario"]["top_share"] == pytest.approx(0.5)  # type: ignore[index]
    unknown = pd.DataFrame({"item_id": items[:1], "quantity": [5.0], "supplier_id": ["NOBODY"]})
    with pytest.raises(ScenarioInputError, match="unknown supplier.*'NOBODY'"):
        _run(
            stack.history,
            models,
            ScenarioRequest(category, Allocation(shares={giver: 1.0}), planned=unknown),
            as_of,
        )


def test_unknown_category_and_a_model_without_dispersion_are_one_line_errors(
    stack: Stack, models: Models
) -> None:
    as_of = latest_day(stack.history)
    at = history_at(stack.history, as_of, models.otd.feature_config)
    with pytest.raises(ScenarioInputError, match="unknown category 'Nope'; known categories"):
        run_scenario(ScenarioRequest("Nope", Allocation(shares={"x": 1.0})), at, models)
    category, giver, taker = _category_and_pair(stack.history, as_of)
    old = copy.copy(models.otd)
    old.late_dispersion = None
    with pytest.raises(DispersionMissingError, match="supplierrisk train otd"):
        run_scenario(
            ScenarioRequest(category, Allocation(shifts=(Shift(giver, taker, 0.1),))), at, Models(old)
        )


def test_cli_prints_a_table_and_json_and_saves(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, api: TestClient
) -> None:
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(stack.settings.home))
    category, giver, taker = _category_and_pair(stack.history, latest_day(stack.history))
    runner = CliRunner()
    base = ["scenario", "--category", category, "--shift", f"{giver}={taker}:0.3", "--runs", "300"]
    shown = runner.invoke(app, base)
    assert shown.exit_code == 0, shown.output
    assert "late lines P10 / P50 / P90" in shown.stdout
    assert "HHI" in shown.stdout
    printed = runner.invoke(app, [*base, "--json", "--save"])
    assert printed.exit_code == 0, printed.output
    body = json.loads(printed.stdout)
    for arm in ARMS:
        for key in (
            "expected_late_lines",
            "late_lines_p10",
            "late_lines_p50",
            "late_lines_p90",
            "otd",
            "hhi",
            "single_source",
            "spend",
            "warnings",
        ):
            assert key in body[arm], (arm, key)
    saved = api.get(f"/v1/scenarios/{body['id']}", headers=stack.headers())
    assert saved.status_code == 200
    assert saved.json()["result"]["scenario"]["expected_late_lines"] == pytest.approx(
        body["scenario"]["expected_late_lines"]
    )
    assert saved.json()["inputs"]["shifts"] == [{"source": giver, "target": taker, "share": 0.3}]
    assert saved.json()["created_by"] == "cli"
    bad = runner.invoke(app, ["scenario", "--category", category, "--shares", f"{giver}=0.5,{taker}=0.6"])
    assert bad.exit_code == 2
    assert bad.stderr.strip() == "error: target shares must sum to 1, they sum to 1.1"


def test_validation_on_a_synthetic_history_with_known_truth_lands_in_its_bands(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The replay through the CLI: five quarters of the stack's synthetic history, every category.

    The history comes from a known late process, and both models are retrained (quick settings)
    as of each quarter start. The intervals must cover 70-90% of the category-quarters, and the
    mean ratio of actual to expected late lines must lie within 0.85-1.15, the issue's bands.
    """
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(stack.settings.home))
    (tmp_path / "otd.yaml").write_text(SMALL_OTD, encoding="utf-8")
    (tmp_path / "disruption.yaml").write_text(SMALL_DISRUPTION, encoding="utf-8")
    last = latest_day(stack.history)
    first_day, last_day = last - pd.Timedelta(days=600), last - pd.Timedelta(days=150)
    configs = [
        "--otd-config",
        str(tmp_path / "otd.yaml"),
        "--disruption-config",
        str(tmp_path / "disruption.yaml"),
    ]
    args = ["scenario", "validate", "--category", "all", "--from", first_day.date().isoformat()]
    args += ["--to", last_day.date().isoformat(), "--runs", "1000", *configs]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    rows = pd.DataFrame(body["rows"])
    assert body["cases"] == len(rows) >= 30
    assert rows["as_of"].nunique() == 5
    assert 0.70 <= body["coverage_p10_p90"] <= 0.90
    assert 0.85 <= body["mean_actual_over_expected"] <= 1.15
    assert body["coverage_p10_p90"] == pytest.approx(rows["inside_p10_p90"].mean())
    # The actual late lines are counted from the history: lines ordered in the quarter, late by its labels.
    row = rows.iloc[0]
    quarter = pd.Timestamp(row["as_of"]) + pd.Timedelta(days=1)
    ordered = stack.history.loc[
        (stack.history["order_date"] >= quarter)
        & (stack.history["order_date"] < quarter + pd.Timedelta(days=91))
        & (stack.history["category"] == row["category"])
    ]
    late = ordered["delivered_date"].isna() | (ordered["delivered_date"] > ordered["promised_date"])
    assert row["lines"] == len(ordered)
    assert row["actual_late_lines"] == late.sum()
    missing = CliRunner().invoke(
        app, ["scenario", "validate", "--category", "Nope", "--from", "2000-01-01", "--to", "2000-02-01"]
    )
    assert missing.exit_code == 2


def test_api_runs_validates_saves_and_reads_back(stack: Stack, api: TestClient) -> None:
    category, giver, taker = _category_and_pair(stack.history, latest_day(stack.history))
    body = {
        "category": category,
        "shifts": [{"from": giver, "to": taker, "share": 0.3}],
        "runs": 300,
        "save": True,
    }
    answer = api.post("/v1/scenarios", json=body, headers=stack.headers())
    assert answer.status_code == 200, answer.text
    figures = answer.json()
    assert figures["difference"]["expected_late_lines"] == pytest.approx(
        figures["scenario"]["expected_late_lines"] - figures["baseline"]["expected_late_lines"]
    )
    saved = api.get(f"/v1/scenarios/{figures['id']}", headers=stack.headers()).json()
    assert saved["seed"] == figures["seed"]
    assert saved["model_versions"] == figures["model_versions"]
    assert saved["created_by"] == "test-viewer (api)"
    sums = api.post(
        "/v1/scenarios",
        json={"category": category, "shares": {giver: 0.5, taker: 0.6}},
        headers=stack.headers(),
    )
    assert sums.status_code == 422
    assert "sum to 1" in sums.text
    unknown = api.post(
        "/v1/scenarios",
        json={**body, "shifts": [{"from": giver, "to": "NOBODY", "share": 0.3}]},
        headers=stack.headers(),
    )
    assert unknown.status_code == 422
    assert "unknown supplier(s) at the as-of: 'NOBODY'" in unknown.json()["detail"]
    neither = api.post("/v1/scenarios", json={"category": category}, headers=stack.headers())
    assert neither.status_code == 422
    assert api.get("/v1/scenarios/sc-nope", headers=stack.headers()).status_code == 404
    assert api.post("/v1/scenarios", json=body).status_code == 401


def _moved_shares(
    stack: Stack, api: TestClient, category: str
) -> tuple[dict[str, float], list[tuple[str, str]]]:
    """The page's current shares for ``category``, with half the largest supplier's moved to the second."""
    page = api.get("/ui/scenarios", params={"category": category}, headers=stack.headers())
    assert page.status_code == 200
    suppliers = re.findall(r'name="supplier" value="([^"]+)"', page.text)
    shares = [float(v) for v in re.findall(r'name="share" type="number"[^>]*value="([0-9.]+)"', page.text)]
    assert len(suppliers) == len(shares) >= 2
    moved = shares[0] / 2
    shares[0] -= moved
    shares[1] += moved
    shares[0] += 100.0 - sum(shares)  # the page rounds to 0.1; the total must be 100
    query = [("category", category), ("runs", "400")]
    for supplier, share in zip(suppliers, shares, strict=True):
        query += [("supplier", html.unescape(supplier)), ("share", f"{share:.4f}")]
    return {html.unescape(s): v / 100 for s, v in zip(suppliers, shares, strict=True) if v > 0}, query


def test_the_page_shows_the_apis_figures_and_saves_them(stack: Stack, api: TestClient) -> None:
    category, _, _ = _category_and_pair(stack.history, latest_day(stack.history))
    shares, query = _moved_shares(stack, api, category)
    page = api.get("/ui/scenarios", params=query, headers=stack.headers())
    assert page.status_code == 200, page.text[:500]
    assert "Baseline against scenario" in page.text
    same = api.post(
        "/v1/scenarios", json={"category": category, "shares": shares, "runs": 400}, headers=stack.headers()
    ).json()
    expected = f"{same['scenario']['expected_late_lines']:,.1f}"
    row = re.search(r"Late lines, expected</td>\s*<td[^>]*>([^<]+)</td>\s*<td[^>]*>([^<]+)</td>", page.text)
    assert row is not None
    assert row.group(2) == expected
    saved = api.post(
        "/ui/scenarios/save",
        data=dict(query)
        | {
            "supplier": [v for k, v in query if k == "supplier"],
            "share": [v for k, v in query if k == "share"],
            "horizon": "90",
        },
        headers=stack.headers(),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    identifier = saved.headers["location"].rsplit("/", 1)[-1]
    shown = api.get(saved.headers["location"], headers=stack.headers())
    assert shown.status_code == 200
    assert f"Saved scenario {identifier}" in shown.text
    assert expected in shown.text
    csv_export = api.get(
        "/ui/export",
        params={"page": "scenario", "table": "comparison", "id": identifier, "format": "csv"},
        headers=stack.headers(),
    )
    assert csv_export.status_code == 200
    assert "Late lines, expected" in csv_export.text
    assert expected.replace(",", "") in csv_export.text.replace(",", "")
    assert (
        api.get(f"/v1/scenarios/{identifier}", headers=stack.headers()).json()["created_by"]
        == "test-viewer (workspace)"
    )


def test_the_page_refuses_shares_that_do_not_total_100(stack: Stack, api: TestClient) -> None:
    category, giver, taker = _category_and_pair(stack.history, latest_day(stack.history))
    query = [
        ("category", category),
        ("supplier", giver),
        ("share", "60"),
        ("supplier", taker),
        ("share", "30"),
    ]
    page = api.get("/ui/scenarios", params=query, headers=stack.headers())
    assert page.status_code == 422
    assert "target shares must sum to 1, they sum to 0.9" in page.text
    assert api.get("/ui/scenarios", params=query[:2], headers=stack.headers()).status_code == 400
    assert api.get("/ui/scenarios/saved/sc-nope", headers=stack.headers()).status_code == 404
