"""Benchmark: server time of each workspace page, on the SCMS demo home and a 10,000-supplier synthetic home.

Server time is the ``Server-Timing`` header (request arrival to response start, the
page fully rendered), read over real requests to the app in this process. Each page
is asked once cold (the first request after the load: derived views such as a
custom KPI window are computed then) and then ``--repeats`` times warm; the median
and P90 of the warm requests are reported, with the cold time beside them.

The reference, measured in the same run on the same deployment: the API's
``GET /v1/categories/{category}`` (the same category's JSON), so ``ratio`` says what
rendering the page costs over serialising the data.

Homes: the SCMS home is the demo's (bundled data ingested, both champions trained
on it, a batch as of 2015-06-30). The synthetic home has ``--suppliers`` suppliers
(champions trained on a 500-supplier history of the same shape, as the batch
benchmark does). Run: ``.venv/bin/python bench/bench_web.py [--suppliers 10000] [--repeats 20]``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import quote

import httpx
import pandas as pd
from fastapi.testclient import TestClient

from pipelines.ingest import run_ingest
from pipelines.score import run_score
from pipelines.train import run_train
from serving.app import create_app
from supplierrisk.ingest import get_preset
from supplierrisk.service.apikeys import create_key
from supplierrisk.settings import Settings
from supplierrisk.storage import write_parquet
from supplierrisk.synth import SynthConfig, generate_history
from supplierrisk.tracking import CHAMPION, MODEL_NAMES, connect, promote, version_for_alias

GOAL_MS = 200.0


def champions(settings: Settings) -> None:
    client = connect(settings)
    for kind in ("otd", "disruption"):
        report = run_train(settings, kind, None, None)
        if version_for_alias(client, MODEL_NAMES[kind], CHAMPION) is None:
            promote(client, MODEL_NAMES[kind], report.version, "benchmark setup")


def scms_home(root: Path) -> Settings:
    settings = Settings(home=root / "scms", api_poll_seconds=0)
    source = get_preset("scms").bundled_path()
    assert source is not None
    run_ingest(source, settings, preset="scms")
    champions(settings)
    run_score(settings, pd.Timestamp("2015-06-30"))
    return settings


def synthetic_home(root: Path, suppliers: int, years: float, per_year: float) -> Settings:
    settings = Settings(home=root / "synthetic", api_poll_seconds=0)
    small = generate_history(
        SynthConfig(suppliers=500, years=years, seed=8, lines_per_supplier_per_year=per_year)
    )
    write_parquet(small.history, settings.store_path)
    champions(settings)
    big = generate_history(
        SynthConfig(suppliers=suppliers, years=years, seed=9, lines_per_supplier_per_year=per_year)
    )
    write_parquet(big.history, settings.store_path)
    print(f"synthetic history: {len(big.history):,} lines, {suppliers:,} suppliers")
    run_score(settings, big.export_date)
    return settings


def server_ms(client: TestClient, path: str, headers: dict[str, str]) -> float:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return float(response.headers["server-timing"].split("dur=")[1])


def pages_of(client: httpx.Client, headers: dict[str, str]) -> dict[str, str]:
    """The pages timed, by name (``client``: a TestClient, or a server's client in bench_serving)."""
    categories = client.get("/v1/categories", headers=headers).json()["items"]
    busiest = max(categories, key=lambda c: c["n_suppliers"])
    category = quote(busiest["category"], safe="")
    supplier = client.get("/v1/suppliers?limit=1", headers=headers).json()["items"][0]["supplier_id"]
    print(f"  busiest category {busiest['category']!r}: {busiest['n_suppliers']:,} suppliers")
    return {
        "home": "/ui/",
        "category": f"/ui/categories/{category}",
        "category_sorted_band": f"/ui/categories/{category}?band=low&sort=otd_rate&order=asc",
        "category_window_90": f"/ui/categories/{category}?window=90",
        "supplier": f"/ui/suppliers/{quote(supplier, safe='')}",
        "lines": "/ui/lines",
        "lines_filtered": "/ui/lines?band=medium&due=30",
        "monitoring": "/ui/monitoring",
        "reference_api_category": f"/v1/categories/{category}",
    }


def measure(settings: Settings, label: str, repeats: int) -> dict[str, tuple[float, float, float]]:
    key, _ = create_key(settings.keys_path, "viewer", f"bench-{label}")
    headers = {"X-API-Key": key}
    results = {}
    with TestClient(create_app(settings)) as client:
        paths = pages_of(client, headers)
        for name, path in paths.items():
            cold = server_ms(client, path, headers)
            warm = sorted(server_ms(client, path, headers) for _ in range(repeats))
            results[name] = (cold, statistics.median(warm), warm[int(0.9 * (len(warm) - 1))])
    reference = results["reference_api_category"][1]
    print(
        f"\n{label}: server time per page, ms ({repeats} warm requests; reference: the API's category JSON)"
    )
    print(f"{'page':26s}{'cold':>9s}{'median':>9s}{'p90':>9s}{'ratio':>8s}")
    for name, (cold, median, p90) in results.items():
        print(f"{name:26s}{cold:9.1f}{median:9.1f}{p90:9.1f}{median / reference:8.2f}")
    return results


def targets(label: str, results: dict[str, tuple[float, float, float]]) -> list[str]:
    out = []
    for name, (cold, _, p90) in results.items():
        if name.startswith("reference"):
            continue
        for kind, value in (("p90", p90), ("cold", cold)):
            verdict = "MET" if value <= GOAL_MS else "MISSED"
            out.append(f"target page_{kind}_ms_{label}_{name}: {value:.1f} (goal <= {GOAL_MS:.0f}) {verdict}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--years", type=float, default=3.0)
    parser.add_argument("--lines-per-supplier-per-year", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        scms = measure(scms_home(Path(tmp)), "scms", args.repeats)
        print(f"(SCMS home built and measured in {time.perf_counter() - start:.0f} s)")
        start = time.perf_counter()
        home = synthetic_home(Path(tmp), args.suppliers, args.years, args.lines_per_supplier_per_year)
        synthetic = measure(home, f"synthetic_{args.suppliers}", args.repeats)
        print(f"(synthetic home built and measured in {time.perf_counter() - start:.0f} s)")
    print()
    for line in targets("scms", scms) + targets(f"synthetic_{args.suppliers}", synthetic):
        print(line)


if __name__ == "__main__":
    main()
