"""Benchmark: disruption snapshots, training, and scoring with drivers at scale.

Prints, for a synthetic history of ``--lines`` lines from ``--suppliers`` suppliers:

1. the time (and peak memory) to build the point-in-time index, the active
   snapshots and their features for ``--months`` monthly as-of dates;
2. the training time (rolling-origin backtest against baselines + final fit);
3. the time to score and explain every active supplier at one as-of.

References measured in the same run: a pandas ``groupby`` count per supplier
(one pass over the history) for step 1, step 1 for step 2, and scoring without
drivers for step 3. Run:
``.venv/bin/python bench/bench_disruption.py [--lines N] [--suppliers N] [--months N]``.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings

import pandas as pd

from supplierrisk.features import known_history
from supplierrisk.features.suppliers import SupplierHistoryIndex, active_snapshots, snapshot_dates
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.modeling.disruption import train_disruption
from supplierrisk.modeling.scoring import history_at, score_supplier_risk
from supplierrisk.synth import SynthConfig, generate_history


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--suppliers", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--years", type=float, default=4.0)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    per_year = args.lines / args.suppliers / args.years
    start = time.perf_counter()
    synth = generate_history(
        SynthConfig(suppliers=args.suppliers, years=args.years, seed=2, lines_per_supplier_per_year=per_year)
    )
    history, export = synth.history, synth.export_date
    del synth
    print(
        f"history: {len(history):,} lines, {args.suppliers:,} suppliers ({time.perf_counter() - start:.1f} s)"
    )
    config = TrainConfig.model_validate({"model": "disruption"})
    features_config = config.feature_config(0, 0.0)

    start = time.perf_counter()
    reference = history.groupby("supplier_id", observed=True)["promised_date"].count()
    kpi_seconds = time.perf_counter() - start
    print(f"reference: pandas groupby count per supplier: {kpi_seconds:.2f} s ({len(reference):,} groups)")

    start = time.perf_counter()
    known = known_history(history, export)
    index = SupplierHistoryIndex(known, features_config)
    index_seconds = time.perf_counter() - start
    dates = snapshot_dates(export - pd.DateOffset(months=args.months - 1), export, "MS")
    snaps = active_snapshots(index, dates)
    features = index.snapshot_features(snaps)
    build_seconds = time.perf_counter() - start
    print(
        f"1. index + snapshots + features: {build_seconds:.1f} s (index {index_seconds:.1f} s) for"
        f" {len(snaps):,} snapshots ({len(dates)} monthly as-of dates x active suppliers),"
        f" {features.shape[1]} columns; peak {peak_gb():.1f} GB;"
        f" {build_seconds / kpi_seconds:.0f}x the reference groupby"
    )
    del features, index, snaps

    start = time.perf_counter()
    training = train_disruption(history, export, config, features_config)
    train_seconds = time.perf_counter() - start
    model = training.model
    print(
        f"2. training (snapshots, {len(training.folds)}-fold backtest with 4 baselines, final fit):"
        f" {train_seconds:.1f} s on {training.examples:,} snapshots; peak {peak_gb():.1f} GB;"
        f" {train_seconds / build_seconds:.1f}x step 1"
    )
    start = time.perf_counter()
    at = history_at(history, export, model.feature_config)
    index_seconds = time.perf_counter() - start
    start = time.perf_counter()
    unexplained = score_supplier_risk(model, at, explain=False)
    plain_seconds = time.perf_counter() - start
    start = time.perf_counter()
    scored = score_supplier_risk(model, at, explain=True)
    score_seconds = time.perf_counter() - start
    print(
        f"3. score + explain all {len(scored):,} active suppliers at {export.date()}: {score_seconds:.1f} s"
        f" (scoring alone {plain_seconds:.1f} s, so drivers {score_seconds - plain_seconds:.1f} s), after"
        f" building the history index once in {index_seconds:.1f} s; peak {peak_gb():.1f} GB"
    )
    assert len(unexplained) == len(scored)


if __name__ == "__main__":
    main()
