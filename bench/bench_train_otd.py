"""Benchmark: OTD training on 1M synthetic lines, and point-in-time features for 10M lines.

Prints wall time and peak memory, the share of training time spent building
features, and ratios against references measured in the same run (a bare
LightGBM fit on the same matrix; a plain pandas sort of the same history), and
ends the training part with ``target <name>: <value> (goal <goal>) MET|MISSED`` lines.
Run: ``.venv/bin/python bench/bench_train_otd.py [--lines N] [--feature-lines N]``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from targets import target_line  # bench/targets.py, beside this script

from pipelines.train import run_train_otd
from supplierrisk.features import (
    FeatureConfig,
    HistoryIndex,
    build_line_features,
    feature_schema,
)
from supplierrisk.modeling.classifier import cast_categoricals
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.modeling.otd import build_otd_examples, resolve_otd_config
from supplierrisk.settings import Settings
from supplierrisk.storage import write_parquet
from supplierrisk.synth import SynthConfig, generate_history


def peak_gb() -> float:
    """Peak RSS in binary gigabytes (GiB), as every bench here reports it."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def synth(lines: int, seed: int) -> tuple[pd.DataFrame, pd.Timestamp]:
    suppliers = max(50, lines // 330)
    result = generate_history(
        SynthConfig(
            suppliers=suppliers, years=3.0, seed=seed, lines_per_supplier_per_year=lines / suppliers / 3.0
        )
    )
    return result.history, result.export_date


def bench_training(lines: int) -> None:
    history, export = synth(lines, 1)
    print(f"training history: {len(history):,} lines")
    # The settings the data decides (severe delay, gap), derived as the training derives them.
    _, config, _ = resolve_otd_config(history, export, TrainConfig())
    feature_config = config.feature_config(0, 0.0)
    # Training first, so its peak is its own: the references' matrices are built after it.
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp))
        write_parquet(history, settings.store_path)
        start = time.perf_counter()
        report = run_train_otd(settings, export, None)
        print(report.format_text())
        t_total = time.perf_counter() - start
    peak = peak_gb()
    start = time.perf_counter()
    examples, feature_set = build_otd_examples(
        history, export, feature_config, tuple(config.excluded_features)
    )
    t_features = time.perf_counter() - start
    # Reference: one bare LightGBM fit of 100 rounds on the same matrix.
    X = cast_categoricals(
        examples.features,
        {c: sorted(examples.features[c].dropna().unique()) for c in feature_set.categorical},
    )
    rounds = 100
    start = time.perf_counter()
    lgb.train(
        {"objective": "binary", "verbose": -1, "num_threads": 2}, lgb.Dataset(X, examples.label), rounds
    )
    t_bare = time.perf_counter() - start
    print("  train otd end to end (features, rolling-origin backtest + baselines, final fit,")
    print(f"    calibration, delay quantiles, MLflow log + register): {t_total:8.1f} s")
    print(
        f"  of which building features for {len(examples):,} examples:      {t_features:8.1f} s"
        f"  ({t_features / t_total:.0%} of the run; fitting and logging the rest)"
    )
    print(
        f"  reference: bare LightGBM fit, {rounds} rounds, same matrix:   {t_bare:8.1f} s"
        f"  (end to end / bare = {t_total / t_bare:.1f}x)"
    )
    print(f"  peak memory during training (process, history generation included): {peak:.2f} GB")
    size = f"{len(history) / 1e6:.1f}M_lines"
    print(target_line(f"train_otd_wall_{size}", f"{t_total:.1f} s", "<= 180 s", t_total <= 180))
    print(target_line(f"train_otd_peak_rss_{size}", f"{peak:.2f} GB", "<= 4 GB", peak <= 4))
    print(f"ratio train_otd / bare LightGBM fit: {t_total / t_bare:.1f}x (reported, no goal)")


def bench_features(lines: int) -> None:
    history, _ = synth(lines, 2)
    print(f"feature history: {len(history):,} lines (peak after generating: {peak_gb():.2f} GB)")
    start = time.perf_counter()
    history.sort_values(["supplier_id", "order_date"])
    t_sort = time.perf_counter() - start
    config = FeatureConfig()
    categorical, numeric = feature_schema(history)
    start = time.perf_counter()
    index = HistoryIndex(history, config)
    features = build_line_features(index, history, history["order_date"], categorical, numeric)
    t_features = time.perf_counter() - start
    print(f"  point-in-time features for every line ({features.shape[1]} columns): {t_features:8.1f} s")
    print(
        f"  reference: pandas sort by supplier and order date:            {t_sort:8.1f} s"
        f"  (features / sort = {t_features / t_sort:.1f}x)"
    )
    print(f"  peak memory (process): {peak_gb():.2f} GB")


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--feature-lines", type=int, default=10_000_000)
    parser.add_argument("--only", choices=["training", "features"], default=None)
    args = parser.parse_args()
    np.seterr(all="ignore")
    if args.only == "training":
        bench_training(args.lines)
    elif args.only == "features":
        bench_features(args.feature_lines)
    else:
        # Separate processes so each peak-memory figure is its own.
        for only in ("training", "features"):
            subprocess.run(  # noqa: S603 - our own interpreter and script
                [
                    sys.executable,
                    __file__,
                    "--only",
                    only,
                    "--lines",
                    str(args.lines),
                    "--feature-lines",
                    str(args.feature_lines),
                ],
                check=True,
            )


if __name__ == "__main__":
    main()
