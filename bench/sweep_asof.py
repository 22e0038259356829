"""The SCMS as-of sweep: both models trained at 7 quarter ends, each beside its baselines on the same folds.

Prints, per model and as-of, the learned model's mean backtest AUC and Brier, the
best baseline on each (logistic regression included), whether the learned model
beats every baseline on both, and the candidate the gate would serve. Ends with
``target ... MET|MISSED`` lines:

- ``<model>_learned_wins``: as-ofs where the learned model beats every baseline on
  both mean AUC and mean Brier (goal: at least 6 of 7);
- ``<model>_served_not_worse``: as-ofs where the served candidate is no worse than
  any baseline beyond the gate's tie tolerance (goal: 7 of 7);
- ``<model>_brier_vs_global``: as-ofs where the served candidate's Brier is at most
  the global rate's (goal: 7 of 7).

Run: ``python bench/sweep_asof.py [--kinds otd,disruption] [--as-of 2015-06-30,...]`` (about 10 minutes).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from supplierrisk.features import Tolerances
from supplierrisk.ingest import get_preset, read_source, to_canonical
from supplierrisk.modeling.config import load_train_config
from supplierrisk.modeling.gate import row_label
from supplierrisk.modeling.recipes import RECIPES

AS_OFS = ("2014-03-31", "2014-06-30", "2014-09-30", "2014-12-31", "2015-03-31", "2015-06-30", "2015-09-14")
GLOBAL_ROWS = ("global_rate", "global_event_rate")


def scms_history() -> pd.DataFrame:
    """The bundled SCMS history as the ingest would store it."""
    preset = get_preset("scms")
    path = preset.bundled_path()
    assert path is not None
    source = read_source(path, preset.mapping)
    return to_canonical(preset.derive(source.frame), preset.mapping, str(path)).accepted


def sweep_row(kind: str, as_of: str, history: pd.DataFrame, config_path: Path | None) -> dict[str, object]:
    """Train one model at one as-of (no MLflow) and summarise its backtest."""
    config = load_train_config(config_path, kind)
    started = time.perf_counter()
    training = RECIPES[kind].train(history, pd.Timestamp(as_of), config, Tolerances())
    means = training.backtest.mean()
    baselines = means.loc[[r for r in means.index if r not in ("model", "blend")]]
    learned = means.loc["model"]
    served = training.choice
    global_brier = float(means.loc[[r for r in GLOBAL_ROWS if r in means.index], "brier"].min())
    tolerance = training.config.gate.tie_tolerance
    return {
        "model": kind,
        "as_of": as_of,
        "learned_auc": float(learned["roc_auc"]),
        "learned_brier": float(learned["brier"]),
        "lr_auc": float(means.loc["logistic_regression", "roc_auc"]),
        "lr_brier": float(means.loc["logistic_regression", "brier"]),
        "best_baseline_auc": float(baselines["roc_auc"].max()),
        "best_baseline_auc_row": str(baselines["roc_auc"].idxmax()),
        "best_baseline_brier": float(baselines["brier"].min()),
        "best_baseline_brier_row": str(baselines["brier"].idxmin()),
        "learned_wins": bool(
            learned["roc_auc"] > baselines["roc_auc"].max() and learned["brier"] < baselines["brier"].min()
        ),
        "served": served.row,
        "served_not_worse": bool(
            served.roc_auc >= baselines["roc_auc"].max() - tolerance
            and served.brier <= baselines["brier"].min() + tolerance
        ),
        "served_brier_vs_global": bool(served.brier <= global_brier + tolerance),
        "seconds": round(time.perf_counter() - started, 1),
    }


def print_table(rows: pd.DataFrame) -> None:
    """The sweep as a Markdown table (paste into the README)."""
    print(
        "| model | as-of | learned AUC / Brier | logistic regression | best baseline AUC"
        " | best baseline Brier | learned wins | served |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows.itertuples(index=False):
        print(
            f"| {r.model} | {r.as_of} | {r.learned_auc:.4f} / {r.learned_brier:.4f}"
            f" | {r.lr_auc:.4f} / {r.lr_brier:.4f}"
            f" | {r.best_baseline_auc:.4f} ({r.best_baseline_auc_row})"
            f" | {r.best_baseline_brier:.4f} ({r.best_baseline_brier_row})"
            f" | {'yes' if r.learned_wins else 'no'}"
            f" | {row_label(str(r.served))} |"
        )


def print_targets(rows: pd.DataFrame) -> None:
    """One ``target`` line per model and goal."""
    for kind, part in rows.groupby("model", sort=False):
        n = len(part)
        for name, column, goal in (
            ("learned_wins", "learned_wins", max(1, n - 1)),
            ("served_not_worse", "served_not_worse", n),
            ("brier_vs_global", "served_brier_vs_global", n),
        ):
            value = int(part[column].sum())
            verdict = "MET" if value >= goal else "MISSED"
            print(f"target {kind}_{name}: {value}/{n} (goal >= {goal}/{n}) {verdict}")


def main() -> None:
    """Run the sweep and print the table and the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="otd,disruption")
    parser.add_argument("--as-of", default=",".join(AS_OFS))
    parser.add_argument("--config-otd", type=Path, default=None)
    parser.add_argument("--config-disruption", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="Also write the rows as CSV.")
    args = parser.parse_args()
    history = scms_history()
    configs = {"otd": args.config_otd, "disruption": args.config_disruption}
    rows = []
    for kind in args.kinds.split(","):
        for as_of in args.as_of.split(","):
            row = sweep_row(kind, as_of, history, configs[kind])
            print(
                f"{kind} {as_of}: learned {row['learned_auc']:.4f}/{row['learned_brier']:.4f},"
                f" best baseline {row['best_baseline_auc']:.4f}/{row['best_baseline_brier']:.4f},"
                f" wins {row['learned_wins']}, served {row['served']} ({row['seconds']} s)",
                flush=True,
            )
            rows.append(row)
    table = pd.DataFrame(rows)
    if args.out is not None:
        table.to_csv(args.out, index=False)
    print()
    print_table(table)
    print()
    print_targets(table)


if __name__ == "__main__":
    main()
