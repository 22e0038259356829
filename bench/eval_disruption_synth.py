"""Evaluation: the disruption model against the synthetic generator's true disruption episodes.

Trains the disruption model as of a day (the history truncated to what was known
then, as if exported that day), scores every active supplier at that day, and
ranks the scores against what followed in the next 90 days:

- the realised event (a line >= 14 days late in the horizon, from the full history);
- the truth: an episode of the supplier overlapping the horizon (``in_episode``),
  and an episode starting inside it (``episode_starts``, the onsets).

The trailing severe-delay rate is ranked on the same suppliers for comparison.
Run: ``.venv/bin/python bench/eval_disruption_synth.py [--suppliers N] [--years Y] [--seed S]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from supplierrisk.features import known_history
from supplierrisk.features.suppliers import SupplierHistoryIndex
from supplierrisk.labels import disruption_labels
from supplierrisk.modeling.config import TrainConfig
from supplierrisk.modeling.disruption import train_disruption
from supplierrisk.scoring import history_at, score_supplier_risk, supplier_snapshot_features
from supplierrisk.synth import SynthConfig, disruption_truth, generate_history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suppliers", type=int, default=1000)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--days-before-export", type=int, default=150)
    parser.add_argument("--event-kind", choices=["any_severe", "severe_share"], default=None)
    parser.add_argument("--windows", default=None, help="Feature windows, e.g. 30,90,180,365.")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    synth = generate_history(SynthConfig(suppliers=args.suppliers, years=args.years, seed=args.seed))
    as_of = synth.export_date - pd.Timedelta(days=args.days_before_export)
    given = {"model": "disruption"} | ({"event": {"kind": args.event_kind}} if args.event_kind else {})
    if args.windows:
        windows = [int(w) for w in args.windows.split(",")]
        given["features"] = {"windows_days": windows}
    config = TrainConfig.model_validate(given)
    features_config = config.feature_config(0, 0.0)
    known = known_history(synth.history, as_of)
    print(
        f"{len(synth.history):,} lines, {args.suppliers} suppliers; trained and scored as of {as_of.date()}"
    )
    start = time.perf_counter()
    training = train_disruption(known, as_of, config, features_config)
    seconds = time.perf_counter() - start
    print(f"training (backtest + final fit): {seconds:.1f} s, {training.examples:,} snapshots")
    means = training.backtest.mean()[["roc_auc", "brier", "log_loss", "ece"]]
    print("mean backtest over", len(training.folds), "folds:")
    print(means.round(4).to_string())
    scored = score_supplier_risk(
        training.model, history_at(known, as_of, training.model.feature_config), explain=False
    )
    snaps = pd.DataFrame({"supplier_id": scored["supplier_id"], "as_of": as_of})
    frame = supplier_snapshot_features(SupplierHistoryIndex(known, features_config), as_of).set_index(
        "supplier_id"
    )
    trailing = frame.loc[scored["supplier_id"], "sup_severe_rate_365d"].to_numpy(dtype=float)
    realised = disruption_labels(synth.history, snaps, config.event.event())["event"].to_numpy()
    truth = disruption_truth(synth.episodes, snaps, config.event.horizon_days)
    p = scored["p_disruption"].to_numpy()
    rows = []
    for name, target in (
        ("realised event", realised),
        ("true episode in horizon", truth["in_episode"].to_numpy()),
        ("true episode onset in horizon", truth["episode_starts"].to_numpy()),
    ):
        rows.append(
            {
                "target": name,
                "positives": f"{int(target.sum())}/{len(target)}",
                "model_auc": roc_auc_score(target, p),
                "trailing_severe_rate_auc": roc_auc_score(target, trailing),
            }
        )
    print(pd.DataFrame(rows).round(4).to_string(index=False))
    print(
        f"Brier against the realised event: {brier_score_loss(realised, p):.4f}"
        f" (mean p {p.mean():.3f}, realised rate {realised.mean():.3f})"
    )


if __name__ == "__main__":
    main()
