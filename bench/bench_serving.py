"""Benchmark: the API against ``mlflow models serve`` on the same OTD model and the same lines.

Both servers run on this machine in the same run, each with ``--workers`` uvicorn
workers, loaded by wrk (a separate process) at fixed concurrency. Measured:

- ``POST /v1/order-lines/score`` with 1 line and with 1,000 lines (raw PO lines in;
  features from the store's history, model, delay quantiles, JSON out);
- ``GET /v1/suppliers/{id}`` (batch tables plus a quarterly KPI trend);
- the workspace's pages (home, a category, a supplier, open lines, monitoring; the
  paths ``bench_web.py`` times), read with the same API key;
- the reference: ``mlflow models serve --env-manager local`` on the OTD champion,
  sent the *feature rows* of the same lines (``dataframe_split``), so it does less
  work per line than our endpoint (no feature building);
- server time of 1,000-line requests from our ``Server-Timing`` header;
- the in-process floor: bare LightGBM ``booster.predict`` on the same feature rows;
- the framework's floor: a no-op FastAPI app (``bench/noop_app.py``) on uvicorn with the
  same flags, sent the same 1-line body (it reads it and returns a small JSON object),
  and a no-op GET.

Ends with one ``target <name>: <value> (goal <goal>) MET|MISSED`` line per target.

The data home (store, champions, latest batch) is built from the bundled SCMS data
unless ``--home`` names an existing one. Needs ``wrk`` (Debian package ``wrk``).
Run: ``.venv/bin/python bench/bench_serving.py [--duration 10] [--connections 8] [--workers 1]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import mlflow
import pandas as pd
from bench_web import pages_of  # bench/bench_web.py: the workspace pages it times, beside this script
from targets import lightgbm_booster, target_line  # bench/targets.py, beside this script

from pipelines.ingest import run_ingest
from pipelines.score import run_score
from pipelines.train import run_train
from supplierrisk.features import latest_day
from supplierrisk.ingest import get_preset
from supplierrisk.modeling.scoring import history_at, line_features
from supplierrisk.service.apikeys import create_key
from supplierrisk.settings import Settings
from supplierrisk.storage import load_store
from supplierrisk.tracking import CHAMPION, MODEL_NAMES, connect, load_model, promote, version_for_alias

# The workspace pages measured against the no-op GET (names as bench_web.pages_of gives them).
WORKSPACE_PAGES = ("home", "category", "supplier", "lines", "monitoring")
LUA = """
wrk.method = "{method}"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "{key}"
function done(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {{"requests":%d,"rps":%.2f,"p50_ms":%.3f,"p99_ms":%.3f,"errors":%d}}\\n',
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_home(home: Path) -> Settings:
    """Store from the bundled SCMS data, both champions, one batch at the store's last day."""
    settings = Settings(home=home)
    source = get_preset("scms").bundled_path()
    assert source is not None
    run_ingest(source, settings, preset="scms")
    client = connect(settings)
    for kind in ("otd", "disruption"):
        report = run_train(settings, kind, None, None)
        if version_for_alias(client, MODEL_NAMES[kind], CHAMPION) is None:
            promote(client, MODEL_NAMES[kind], report.version, "benchmark setup")
    run_score(settings, latest_day(load_store(settings.store_path)))
    return settings


def wait_for(url: str, seconds: float = 180.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not become ready in {seconds:.0f} s")


def run_wrk(
    url: str, method: str, body: str | None, key: str, args: argparse.Namespace, tmp: Path
) -> dict[str, Any]:
    script = tmp / f"wrk-{abs(hash((url, body)))}.lua"
    script.write_text(
        LUA.format(method=method, body="nil" if body is None else json.dumps(body), key=key), encoding="utf-8"
    )
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    return dict(json.loads(line.removeprefix("WRK_JSON ")))


def line_records(lines: pd.DataFrame) -> list[dict[str, Any]]:
    fields = ["po_id", "line_id", "supplier_id", "supplier_country", "category", "ship_mode", "incoterm"]
    fields += ["destination", "order_date", "promised_date", "quantity_ordered", "unit_price"]
    extras = [c for c in lines.columns if c.startswith("extra_")]
    out = []
    for row in lines.reindex(columns=fields + extras).to_dict("records"):
        record = {}
        for key, value in row.items():
            if value is None or (isinstance(value, float) and value != value):
                continue
            record[key] = value.date().isoformat() if isinstance(value, pd.Timestamp) else value
        out.append(record)
    return out


def floor_ms(booster: Any, matrix: Any, repeats: int) -> float:
    booster.predict(matrix, num_threads=1)
    start = time.perf_counter()
    for _ in range(repeats):
        booster.predict(matrix, num_threads=1)
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="An existing data home (default: build one).")
    parser.add_argument("--duration", type=int, default=10, help="Seconds per wrk run.")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads.")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of each server.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.home is None:
            started = time.perf_counter()
            settings = build_home(tmp / "home")
            print(f"home built from SCMS in {time.perf_counter() - started:.0f} s")
        else:
            settings = Settings(home=args.home)
        keys = tmp / "keys.json"
        key, _ = create_key(keys, "viewer", "bench")
        client = connect(settings)
        model, version = load_model(client, MODEL_NAMES["otd"], CHAMPION)
        history = load_store(settings.store_path)
        at = history_at(history, latest_day(history), model.feature_config, suppliers=False)
        lines = history.sort_values(["order_date", "po_id", "line_id"]).tail(1000).reset_index(drop=True)
        records = line_records(lines)
        features = line_features(model, at.index, lines, at.as_of)
        info = mlflow.models.get_model_info(f"models:/{MODEL_NAMES['otd']}@{CHAMPION}")
        reference_rows = features.reindex(columns=info.signature.inputs.input_names())

        env = os.environ | {
            "SUPPLIERRISK_HOME": str(settings.home),
            "SUPPLIERRISK_API_KEYS_FILE": str(keys),
            "SUPPLIERRISK_API_POLL_SECONDS": "0",
            "MLFLOW_TRACKING_URI": settings.tracking_uri,
            # mlflow serve execs "uvicorn" by name: the venv's bin must be on PATH.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        ours_port, ref_port, noop_port = free_port(), free_port(), free_port()
        python = sys.executable
        uvicorn_flags = ["--workers", str(args.workers), "--log-level", "warning"]
        noop = subprocess.Popen(  # noqa: S603
            [python, "-m", "uvicorn", "noop_app:create_app", "--factory", "--port", str(noop_port)]
            + ["--app-dir", str(Path(__file__).resolve().parent), *uvicorn_flags],
            env=env,
        )
        ours = subprocess.Popen(  # noqa: S603
            [python, "-m", "uvicorn", "serving.app:create_app", "--factory", "--port", str(ours_port)]
            + uvicorn_flags,
            env=env,
        )
        reference = subprocess.Popen(  # noqa: S603
            [python, "-m", "mlflow", "models", "serve", "-m", f"models:/{MODEL_NAMES['otd']}@{CHAMPION}"]
            + ["--env-manager", "local", "-p", str(ref_port), "-w", str(args.workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(f"http://127.0.0.1:{ours_port}/ready")
            wait_for(f"http://127.0.0.1:{ref_port}/ping")
            wait_for(f"http://127.0.0.1:{noop_port}/item/ready")
            noop_url = f"http://127.0.0.1:{noop_port}"
            ours_url = f"http://127.0.0.1:{ours_port}/v1/order-lines/score"
            ref_url = f"http://127.0.0.1:{ref_port}/invocations"
            bodies = {n: json.dumps({"lines": records[-n:]}) for n in (1, 1000)}
            ref_bodies = {
                n: json.dumps(
                    {
                        "dataframe_split": json.loads(
                            reference_rows.tail(n).to_json(orient="split", index=False, double_precision=15)
                        )
                    }
                )
                for n in (1, 1000)
            }
            # Same model, same lines: the two servers must agree before their speeds are compared.
            headers = {"X-API-Key": key, "Content-Type": "application/json"}
            # The first request of these lines: the deployment's history cache does not know them yet.
            first = httpx.post(ours_url, content=bodies[1000], headers=headers, timeout=60)
            cold_ms = float(first.headers["server-timing"].split("dur=")[1])
            mine = first.json()
            theirs = httpx.post(ref_url, content=ref_bodies[1000], headers=headers, timeout=60).json()
            p_ours = [line["p_late"] for line in mine["lines"]]
            p_ref = [row["p_late"] for row in theirs["predictions"]]
            worst = max(abs(a - b) for a, b in zip(p_ours, p_ref, strict=True))
            print(f"p_late agreement over 1,000 lines: max |ours - mlflow| = {worst:.2e}")

            # The riskiest supplier of the batch: the page a sourcing review opens first.
            batch_suppliers = httpx.get(
                f"http://127.0.0.1:{ours_port}/v1/suppliers?limit=1", headers=headers, timeout=30
            ).json()
            supplier = batch_suppliers["items"][0]["supplier_id"]
            supplier_url = f"http://127.0.0.1:{ours_port}/v1/suppliers/{quote(supplier, safe='')}"
            # The workspace's pages, as bench_web.py times them one by one (the same paths).
            with httpx.Client(base_url=f"http://127.0.0.1:{ours_port}", timeout=60) as web:
                pages = {
                    name: f"http://127.0.0.1:{ours_port}{path}"
                    for name, path in pages_of(web, headers).items()
                    if name in WORKSPACE_PAGES
                }

            timings = []
            for _ in range(30):
                response = httpx.post(ours_url, content=bodies[1000], headers=headers, timeout=60)
                timings.append(float(response.headers["server-timing"].split("dur=")[1]))
            server_ms = statistics.median(timings)

            results = {
                "ours 1 line": run_wrk(ours_url, "POST", bodies[1], key, args, tmp),
                "mlflow 1 line": run_wrk(ref_url, "POST", ref_bodies[1], key, args, tmp),
                "ours 1,000 lines": run_wrk(ours_url, "POST", bodies[1000], key, args, tmp),
                "mlflow 1,000 lines": run_wrk(ref_url, "POST", ref_bodies[1000], key, args, tmp),
                "ours GET supplier": run_wrk(supplier_url, "GET", None, key, args, tmp),
                "no-op 1 line": run_wrk(f"{noop_url}/score", "POST", bodies[1], key, args, tmp),
                "no-op GET": run_wrk(
                    f"{noop_url}/item/{quote(supplier, safe='')}", "GET", None, key, args, tmp
                ),
                **{f"page {name}": run_wrk(url, "GET", None, key, args, tmp) for name, url in pages.items()},
            }
        finally:
            for process in (ours, reference, noop):
                process.terminate()
                process.wait(timeout=30)

        encoded = model.classifier.encode(features)
        booster = lightgbm_booster(model.classifier)
        floor_1 = floor_ms(booster, encoded.matrix[-1:], 2000)
        floor_1000 = floor_ms(booster, encoded.matrix, 200)
        # The floor with the delay models too (none when the empirical quantiles are served).
        delay_matrix = encoded.select(model.delay.feature_names_)
        floor_delay = sum(floor_ms(m.booster_, delay_matrix, 50) for m in model.delay.models_)
        delay_trees = sum(m.booster_.num_trees() for m in model.delay.models_)

    print(
        f"\nwrk: {args.threads} thread(s), {args.connections} connections, {args.duration} s each;"
        f" {args.workers} uvicorn worker(s) per server; {os.cpu_count()} cores"
    )
    print(f"{'':22s}{'req/s':>10s}{'p50 ms':>10s}{'p99 ms':>10s}{'errors':>8s}")
    for name, r in results.items():
        print(f"{name:22s}{r['rps']:10.1f}{r['p50_ms']:10.2f}{r['p99_ms']:10.2f}{r['errors']:8d}")
    print(f"1,000 lines server time, first request (history cache cold): {cold_ms:.1f} ms")
    print(
        f"delay quantiles served: {getattr(model.delay, 'method', 'per_level')} ({delay_trees} trees);"
        f" their bare booster.predict on the same 1,000 rows: {floor_delay:.2f} ms (classifier"
        f" {booster.num_trees()} trees + delay: {(floor_1000 + floor_delay) / floor_1000:.1f}x the"
        " classifier alone)"
    )
    report_targets(results, server_ms, sorted(timings)[26], floor_1, floor_1000)


def report_targets(
    results: dict[str, dict[str, Any]],
    server_ms: float,
    server_p90_ms: float,
    floor_1: float,
    floor_1000: float,
) -> None:
    one, ref_one, noop = results["ours 1 line"], results["mlflow 1 line"], results["no-op 1 line"]
    many, ref_many = results["ours 1,000 lines"], results["mlflow 1,000 lines"]
    get, noop_get = results["ours GET supplier"], results["no-op GET"]
    print(f"1,000 lines: throughput ratio ours/mlflow {many['rps'] / ref_many['rps']:.2f}")
    print(
        f"1,000 lines server time (Server-Timing, median of 30): {server_ms:.1f} ms,"
        f" p90 {server_p90_ms:.1f} ms;"
        f" bare booster.predict of the classifier on the same rows: {floor_1000:.2f} ms"
    )
    print(f"bare booster.predict of 1 row: {floor_1:.3f} ms; ours 1 line at p50: {one['p50_ms']:.2f} ms\n")
    vs_mlflow = one["rps"] / ref_one["rps"]
    vs_noop = one["rps"] / noop["rps"]
    p99_ratio = one["p99_ms"] / ref_one["p99_ms"]
    vs_floor = server_ms / floor_1000
    get_vs_noop = get["rps"] / noop_get["rps"]
    print(target_line("one_line_throughput_vs_mlflow", f"{vs_mlflow:.2f}x", ">= 5x", vs_mlflow >= 5))
    print(target_line("one_line_throughput_vs_noop", f"{vs_noop:.2f}", ">= 0.40", vs_noop >= 0.40))
    print(target_line("one_line_p99_vs_mlflow", f"{p99_ratio:.2f}", "<= 0.20", p99_ratio <= 0.20))
    print(
        target_line("thousand_lines_server_time_vs_bare_predict", f"{vs_floor:.1f}x", "<= 3x", vs_floor <= 3)
    )
    print(
        target_line("get_supplier_throughput_vs_noop", f"{get_vs_noop:.2f}", ">= 0.40", get_vs_noop >= 0.40)
    )
    for name in WORKSPACE_PAGES:
        ratio = results[f"page {name}"]["rps"] / noop_get["rps"]
        print(target_line(f"workspace_{name}_throughput_vs_noop", f"{ratio:.3f}", ">= 0.40", ratio >= 0.40))


if __name__ == "__main__":
    main()
