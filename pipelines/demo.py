"""Demo job, the whole loop on SCMS: ingest, scorecards, both models, riskiest suppliers, batch, drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.ingest import run_ingest
from pipelines.kpis import run_kpis
from pipelines.monitor import format_drift
from pipelines.predict import format_supplier_risk, run_predict_disruption
from pipelines.scenario import format_scenario, run_scenario_job
from pipelines.score import run_score
from pipelines.train import run_train
from supplierrisk.features import latest_day
from supplierrisk.ingest import get_preset
from supplierrisk.monitoring.checks import latest_drift_summary
from supplierrisk.scenarios import Allocation, ScenarioRequest, Shift
from supplierrisk.settings import Settings
from supplierrisk.storage import load_store

_SUPPLIER_COLUMNS = [
    "supplier_id",
    "otd_lines",
    "otd_rate",
    "otd_rate_lo",
    "otd_rate_hi",
    "lead_time_mean_days",
    "days_late_mean",
    "spend_share",
    "open_lines",
    "score",
]
_CATEGORY_COLUMNS = [
    "category",
    "otd_lines",
    "otd_rate",
    "n_suppliers",
    "hhi",
    "single_source",
    "spend_share",
]


def _render(frame: pd.DataFrame, columns: list[str]) -> str:
    shown = [c for c in columns if c in frame.columns]
    return frame[shown].to_string(index=False, float_format=lambda v: f"{v:.3g}", max_colwidth=40)


def run_demo(settings: Settings, as_of: pd.Timestamp, top: int = 15) -> str:
    """Run the demo end to end and return what it prints."""
    preset = get_preset("scms")
    source = preset.bundled_path()
    assert source is not None  # noqa: S101 - the scms preset always ships its data
    report = run_ingest(source, settings, preset="scms")
    suppliers = run_kpis(settings, as_of, 365, "supplier")
    categories = run_kpis(settings, as_of, 365, "category")
    by_spend = suppliers.table.sort_values("spend", ascending=False, na_position="last").head(top)
    parts = [
        "== ingest: USAID SCMS delivery history ==",
        report.format_text(),
        "",
        f"== top {top} suppliers by spend, 365 days to {as_of.date()} (90% intervals) ==",
        _render(by_spend, _SUPPLIER_COLUMNS),
        "",
        f"== categories, 365 days to {as_of.date()} ==",
        _render(categories.table, _CATEGORY_COLUMNS),
    ]
    if suppliers.skipped:
        parts.append("")
        parts.extend(f"skipped {name}: {why}" for name, why in suppliers.skipped.items())
    otd = run_train(settings, "otd", None, None)
    disruption = run_train(settings, "disruption", None, None)
    parts += [
        "",
        "== on-time-delivery model: rolling-origin backtest against baselines ==",
        otd.format_text(),
        "",
        "== disruption-risk model: rolling-origin backtest against baselines ==",
        disruption.format_text(),
        "",
    ]
    if disruption.decision.promote:
        risk_as_of = latest_day(load_store(settings.store_path))
        riskiest = run_predict_disruption(settings, risk_as_of, top=10)
        parts += [
            f"== 10 riskiest suppliers as of {risk_as_of.date()}: {disruption.event_text} ==",
            format_supplier_risk(riskiest),
        ]
    else:
        parts.append("the disruption model did not pass the gate, so no champion scores are shown")
    if otd.decision.promote and disruption.decision.promote:
        # A look-back batch: the models were trained on data to the end of the history.
        batch = run_score(settings, as_of)
        parts += [
            "",
            f"== nightly batch as of {as_of.date()} (a look-back: the champions were trained on later data)"
            " ==",
            batch.format_text(),
            "",
            format_drift(latest_drift_summary(settings)),
        ]
        where = f"batch folder: {batch.folder}\nresults database: {settings.results_url}"
        parts += ["", *scenario_example(settings, as_of)]
        parts += [
            "",
            "== the API (supplierrisk serve), called over HTTP as a category manager's tool would ==",
            *api_tour(settings),
        ]
    else:
        where = "no batch: a model did not pass its gate"
    parts += [
        "",
        "== where to look ==",
        f"MLflow UI: supplierrisk mlflow-ui   (store {settings.tracking_uri})",
        where,
        "drift and feedback: supplierrisk drift; supplierrisk monitor",
        "API: supplierrisk keys create --role viewer; supplierrisk serve  (docs at http://127.0.0.1:8000/docs)",
        "",
        "workspace for category managers: http://127.0.0.1:8000/ui/",
        "  start it with 'supplierrisk serve'; log in with a key from"
        " 'supplierrisk keys create --role viewer --name you' (admin keys may also promote)",
    ]
    return "\n".join(parts)


def scenario_example(settings: Settings, as_of: pd.Timestamp, category: str = "ARV") -> list[str]:
    """A scenario a category manager would bring: 30% of the largest supplier's volume to the next one."""
    history = load_store(settings.store_path)
    recent = history.loc[
        (history["category"] == category)
        & (history["order_date"] > as_of - pd.Timedelta(days=90))
        & (history["order_date"] <= as_of)
    ]
    value = (recent["quantity_ordered"] * recent["unit_price"]).groupby(recent["supplier_id"]).sum()
    if len(value) < 2:
        return [f"(no scenario: {category} has fewer than two suppliers in the 90 days to {as_of.date()})"]
    giver, taker = value.sort_values(ascending=False).index[:2]
    shift = Shift(str(giver), str(taker), 0.3)
    request = ScenarioRequest(category, Allocation(shifts=(shift,)), as_of=as_of)
    result = run_scenario_job(settings, request)
    return [
        f"== a sourcing scenario: move 30% of {giver}'s {category} volume to {taker} ==",
        f"   (supplierrisk scenario --category {category} --as-of {as_of.date()}"
        f' --shift "{giver}={taker}:0.3")',
        format_scenario(result),
    ]


def api_tour(settings: Settings) -> list[str]:
    """Start the API on a free local port with a throwaway viewer key and call a few endpoints."""
    import socket
    import tempfile
    import threading
    import time
    import urllib.parse
    import urllib.request

    import uvicorn

    from serving.app import create_app
    from supplierrisk.service.apikeys import create_key

    with tempfile.TemporaryDirectory() as tmp, socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        key, _ = create_key(Path(tmp) / "keys.json", "viewer", "demo")
        app = create_app(
            settings.model_copy(update={"api_keys_file": Path(tmp) / "keys.json", "api_poll_seconds": 0})
        )
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"

        def call(path: str, body: dict[str, Any] | None = None) -> Any:
            data = None if body is None else json.dumps(body).encode()
            headers = {"X-API-Key": key, "Content-Type": "application/json"}
            request = urllib.request.Request(base + path, data=data, headers=headers)  # noqa: S310 - local
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - our own local server
                return json.loads(response.read())

        try:
            for _ in range(600):
                if server.started:
                    break
                time.sleep(0.1)
            ready = call("/ready")
            # The riskiest three whatever their band: a history may have none at medium or above.
            flagged = call("/v1/suppliers?min_band=medium&limit=1")
            suppliers = call("/v1/suppliers?limit=3")
            top = suppliers["items"][0]
            detail = call("/v1/suppliers/" + urllib.parse.quote(top["supplier_id"], safe=""))
            category = call("/v1/categories/" + urllib.parse.quote(str(top["main_category"]), safe=""))
            open_line = detail["open_lines"][0] if detail["open_lines"] else None
            workspace = _page(base + "/ui/", key)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    lines = [
        f"GET /ready: {ready['status']}, models {ready['models']}, batch {ready['batch']['batch_id']}",
        f"GET /v1/suppliers?min_band=medium: {flagged['total']} suppliers at medium risk or above",
        f"GET /v1/suppliers?limit=3: the riskiest of {suppliers['total']}",
    ]
    for item in suppliers["items"]:
        otd = item["kpis"]["otd_rate"]
        lines.append(
            f"  {item['supplier_id']}: risk {item['risk_score']} ({item['risk_band']}),"
            f" OTD {_pct(otd['value'])} [{_pct(otd['lo'])}, {_pct(otd['hi'])}]"
        )
    lines.append(f"GET /v1/suppliers/{top['supplier_id']}: {detail['recent_change']}; drivers")
    lines += [f"  - {d['text']}" for d in detail["drivers"]]
    if open_line is not None:
        lines.append(
            f"  riskiest open line {open_line['po_id']}/{open_line['line_id']}:"
            f" p_late {open_line['p_late']:.2f}, P90 delay {open_line['delay_p90_days']:.0f} days"
        )
    alternatives = ", ".join(a["supplier_id"] for a in category["alternatives"][:3]) or "none"
    lines.append(
        f"GET /v1/categories/{category['category']}: HHI {category['hhi']:.0f},"
        f" single source {category['single_source']}, alternatives to {category['replacing']}: {alternatives}"
    )
    lines.append(f"GET /ui/ (the category manager's workspace, HTML): {workspace}")
    return lines


def _page(url: str, key: str) -> str:
    """Fetch a workspace page with the key header; its status and size."""
    import urllib.request

    request = urllib.request.Request(url, headers={"X-API-Key": key})  # noqa: S310 - local
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - our own local server
        return f"{response.status}, {len(response.read()):,} bytes"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"
