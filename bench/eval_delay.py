"""The delay-if-late quantiles: both methods on the same rolling-origin folds, at many as-ofs.

For each as-of (SCMS quarter ends, then a synthetic history's last day) the OTD
recipe's own examples and folds, then ``backtest_delay`` with ``residual`` (the
default) and ``per_level`` (the earlier default): per level, the share of late
lines delivered within the predicted quantile (its goal is the level itself), the
mean pinball loss, and the bare ``booster.predict`` time of each method's models on
1,000 rows (one thread), fitted at the last fold. Ends with ``target`` lines:

- ``delay_coverage_error``: as-ofs where residual's mean |coverage - level| is at
  most per_level's + 0.02 (goal: all);
- ``delay_pinball``: as-ofs where residual's mean pinball loss is at most 1.05x
  per_level's (goal: all);
- ``delay_predict_speedup``: per_level's predict time over residual's (goal >= 4x).

Run: ``python bench/eval_delay.py [--as-of 2014-06-30,...] [--synthetic-suppliers N]`` (a few minutes).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sweep_asof import scms_history  # bench/sweep_asof.py, beside this script
from targets import target_line

from supplierrisk.features import Tolerances, latest_day
from supplierrisk.modeling.backtest import Examples, Fold
from supplierrisk.modeling.classifier import training_categories
from supplierrisk.modeling.config import load_train_config
from supplierrisk.modeling.delay import backtest_delay, fit_delay
from supplierrisk.modeling.encoding import encode_features
from supplierrisk.modeling.otd import build_otd_examples, resolve_otd_config
from supplierrisk.modeling.training import backtest_folds
from supplierrisk.synth import SynthConfig, generate_history

AS_OFS = ("2014-06-30", "2014-12-31", "2015-06-30", "2015-09-14")
METHODS = ("residual", "per_level")


def examples_and_folds(
    history: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[Examples, list[str], list[Fold], tuple[float, ...]]:
    """The OTD examples, categorical features, folds and delay levels a training at ``as_of`` uses."""
    tolerances = Tolerances()
    _, config, _ = resolve_otd_config(history, as_of, load_train_config(None, "otd"))
    feature_config = config.feature_config(tolerances.on_time_days, tolerances.in_full)
    examples, feature_set = build_otd_examples(
        history, as_of, feature_config, tuple(config.excluded_features)
    )
    config, _, folds = backtest_folds(config, examples, as_of)
    return examples, feature_set.categorical, folds, tuple(config.delay_levels)


def predict_ms(examples: Examples, fold: Fold, categorical: list[str], levels: tuple[float, ...]) -> dict:
    """Bare predict time on 1,000 rows of each method's models, fitted at ``fold``'s cut-off."""
    train = examples.known_at(fold.cutoff, fold.train_end)
    categories = training_categories(train.features, categorical)
    rows = examples.features.tail(1000)
    out = {}
    for method in METHODS:
        model = fit_delay(train, fold.cutoff, categories, levels, method, seed=0)
        matrix = encode_features(rows, model.feature_names_, categories).matrix
        boosters = [m.booster_ for m in model.models_]
        for booster in boosters:
            booster.predict(matrix, num_threads=1)
        started = time.perf_counter()
        for _ in range(20):
            for booster in boosters:
                booster.predict(matrix, num_threads=1)
        out[method] = (time.perf_counter() - started) / 20 * 1000
    return out


def evaluate(name: str, history: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Both methods' fold means at one as-of, with their predict times."""
    examples, categorical, folds, levels = examples_and_folds(history, as_of)
    tables = [backtest_delay(examples, folds, categorical, levels, method) for method in METHODS]
    means = pd.concat(tables).drop(columns="fold").groupby("method").mean()
    times = predict_ms(examples, folds[-1], categorical, levels)
    means["predict_ms_1000"] = pd.Series(times)
    means.insert(0, "as_of", f"{name} {as_of.date()}")
    return means.reset_index()


def print_table(rows: pd.DataFrame) -> None:
    """Coverage per level, pinball loss and predict time, as a Markdown table."""
    levels = [c for c in rows.columns if c.startswith("coverage_q")]
    print("| as-of | method | late test lines / fold | " + " | ".join(levels) + " | pinball | ms / 1,000 |")
    print("|---|---|---|" + "---|" * len(levels) + "---|---|")
    for r in rows.to_dict("records"):
        coverage = " | ".join(f"{r[c]:.3f}" for c in levels)
        print(
            f"| {r['as_of']} | {r['method']} | {r['n_test']:.0f} | {coverage}"
            f" | {r['pinball_mean']:.3f} | {r['predict_ms_1000']:.2f} |"
        )


def print_targets(rows: pd.DataFrame) -> None:
    """The three ``target`` lines."""
    wide = rows.pivot(index="as_of", columns="method")
    n = len(wide)
    coverage_ok = int(
        (
            wide["coverage_abs_error_mean", "residual"] <= wide["coverage_abs_error_mean", "per_level"] + 0.02
        ).sum()
    )
    pinball_ok = int((wide["pinball_mean", "residual"] <= 1.05 * wide["pinball_mean", "per_level"]).sum())
    speedup = float(np.median(wide["predict_ms_1000", "per_level"] / wide["predict_ms_1000", "residual"]))
    print(target_line("delay_coverage_error", f"{coverage_ok}/{n}", f">= {n}/{n}", coverage_ok == n))
    print(target_line("delay_pinball", f"{pinball_ok}/{n}", f">= {n}/{n}", pinball_ok == n))
    print(target_line("delay_predict_speedup", f"{speedup:.1f}x", ">= 4x", speedup >= 4))


def main() -> None:
    """Evaluate at every as-of and print the table and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", default=",".join(AS_OFS))
    parser.add_argument("--synthetic-suppliers", type=int, default=300, help="0: no synthetic history.")
    args = parser.parse_args()
    rows = []
    scms = scms_history()
    for as_of in args.as_of.split(","):
        rows.append(evaluate("SCMS", scms, pd.Timestamp(as_of)))
        print(rows[-1].to_string(index=False), flush=True)
    if args.synthetic_suppliers:
        synthetic = generate_history(
            SynthConfig(suppliers=args.synthetic_suppliers, years=4.0, seed=3)
        ).history
        rows.append(evaluate("synthetic", synthetic, latest_day(synthetic)))
        print(rows[-1].to_string(index=False), flush=True)
    table = pd.concat(rows, ignore_index=True)
    print()
    print_table(table)
    print()
    print_targets(table)


if __name__ == "__main__":
    main()
