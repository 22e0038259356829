"""Benchmark: one full nightly batch over a large synthetic history.

Champions of both models are trained on a smaller history from the same
generator (registered in a temporary MLflow store); the batch then runs on a
history of ``--lines`` lines with ``supplierrisk score`` in its own process: features, both models, KPI
roll-ups, drift on a sample, Parquet, the results database, LATEST and the MLflow
run. The latest ``--open-lines`` orders are made open and not yet due (the
generator alone leaves about 1% open). Prints the wall time per stage, the total
and the batch process's peak memory, and the OTD stage's rows/s against bare LightGBM
``booster.predict`` on a matrix of the same size and columns (drawn from the
champion's drift reference), measured in the same run.
Run: ``.venv/bin/python bench/bench_batch.py [--lines N] [--suppliers N] [--open-lines N]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from targets import lightgbm_booster, target_line  # bench/targets.py, beside this script

from pipelines.train import run_train
from supplierrisk.batch import folders
from supplierrisk.modeling.classifier import cast_categoricals
from supplierrisk.settings import Settings
from supplierrisk.storage import write_parquet
from supplierrisk.synth import SynthConfig, generate_history
from supplierrisk.tracking import CHAMPION, OTD_MODEL_NAME, connect, load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--years", type=float, default=4.0)
    parser.add_argument(
        "--open-lines", type=int, default=1_000_000, help="Make the latest N orders open and not yet due."
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home")
        per_year = args.lines / args.suppliers / args.years
        small = generate_history(
            SynthConfig(suppliers=500, years=args.years, seed=8, lines_per_supplier_per_year=per_year)
        )
        write_parquet(small.history, settings.store_path)
        start = time.perf_counter()
        for kind in ("otd", "disruption"):
            report = run_train(settings, kind, small.export_date, None)
            if not report.decision.promote:
                connect(settings).set_registered_model_alias(report.model_name, CHAMPION, report.version)
        print(f"champions trained on {len(small.history):,} lines in {time.perf_counter() - start:.0f} s")
        del small

        big = generate_history(
            SynthConfig(
                suppliers=args.suppliers, years=args.years, seed=9, lines_per_supplier_per_year=per_year
            )
        )
        history, export = big.history, big.export_date
        if args.open_lines:
            # The generator's lead times leave about 1% of lines open at export; a buyer with long lead
            # times has more. The latest N orders become open, promised 1-90 days after the export.
            latest = history["order_date"].rank(method="first", ascending=False) <= args.open_lines
            rng = np.random.default_rng(0)
            history.loc[latest, "delivered_date"] = pd.NaT
            for column in ("quantity_received", "quantity_rejected", "invoice_unit_price"):
                history.loc[latest, column] = np.nan
            later = export + pd.to_timedelta(rng.integers(1, 91, int(latest.sum())), unit="D")
            history.loc[latest, "promised_date"] = np.maximum(history.loc[latest, "promised_date"], later)
        write_parquet(history, settings.store_path)
        rows = len(history)
        open_at_export = int(history["delivered_date"].isna().sum())
        del big, history
        print(f"batch history: {rows:,} lines, {open_at_export:,} open at {export.date()}")
        # The batch runs as the scheduler runs it, `supplierrisk score` in its own process, so its
        # peak memory is its own (not the generator's or the champions' training above).
        start = time.perf_counter()
        cli = str(Path(sys.executable).parent / "supplierrisk")
        env = os.environ | {
            "SUPPLIERRISK_HOME": str(settings.home),
            "MLFLOW_TRACKING_URI": settings.tracking_uri,
        }
        command = [cli, "score", "--as-of", export.date().isoformat()]
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
        total = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
        latest = folders.latest_batch(settings.batches_dir)
        assert latest is not None
        m = folders.read_manifest(latest)
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in m["durations_seconds"].items())
        print(f"batch total {total:.1f} s; peak {peak:.1f} GB (targets: 120 s, 12 GB)")
        rest = total - sum(m["durations_seconds"].values())
        print(f"  stages: {stages}; writes, database and MLflow: {rest:.1f} s")
        scored = m["rows_scored"]["open_lines"]
        otd_seconds = m["durations_seconds"]["open_lines"]
        print(f"  scored {scored:,} open lines and {m['rows_scored']['suppliers']:,} suppliers")

        model, _ = load_model(connect(settings), OTD_MODEL_NAME, CHAMPION)
        client = connect(settings)
        reference = pd.read_parquet(client.download_artifacts(model_run(client), "reference.parquet"))
        matrix = reference.sample(scored, replace=True, random_state=0).reset_index(drop=True)
        frame = cast_categoricals(matrix.reindex(columns=model.feature_names), model.categories)
        start = time.perf_counter()
        lightgbm_booster(model.classifier).predict(frame)
        bare = time.perf_counter() - start
        ours = scored / otd_seconds if otd_seconds else float("nan")
        floor = scored / bare
        print(
            f"OTD stage: {ours:,.0f} rows/s (features from the shared index + calibrated model + delay"
            f" quantiles); bare booster.predict: {floor:,.0f} rows/s; ratio {ours / floor:.3f}"
        )
    # The goals are for 10M lines, 1M open and 10k suppliers (the defaults); other sizes show the figures.
    size = f"{rows / 1e6:.1f}M_lines"
    print(target_line(f"batch_wall_{size}", f"{total:.1f} s", "<= 120 s", total <= 120))
    print(target_line(f"batch_peak_rss_{size}", f"{peak:.1f} GB", "<= 12 GB", peak <= 12))


def model_run(client: object) -> str:
    version = client.get_model_version_by_alias(OTD_MODEL_NAME, CHAMPION)  # type: ignore[attr-defined]
    return str(version.run_id)


if __name__ == "__main__":
    main()
