"""Benchmark: one sourcing scenario, 2,000 Monte Carlo runs over a category of at least 5,000 template lines.

The history is synthetic (``--suppliers`` suppliers over 1.5 years, so the busiest category
holds 5,000+ lines in the last 90 days); the champions are trained, unregistered, on a
300-supplier history of the same shape with the tests' quick settings. Timed, median of
``--repeats``:

- ``scenario``: ``run_scenario`` end to end (template, allocation, re-scoring every
  placement through the feature path, the Monte Carlo, the summary), on a history index
  built beforehand, as the service holds one per deployment;
- ``monte carlo``: ``simulate`` alone;
- the reference, in the same run: the OTD model's bare ``predict`` of the placed lines'
  feature rows (the floor of re-scoring them).

Run: ``.venv/bin/python bench/bench_scenarios.py [--suppliers 3000] [--runs 2000] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import warnings

import pandas as pd

from supplierrisk.features import Tolerances
from supplierrisk.modeling.config import TrainConfig, load_train_config
from supplierrisk.modeling.recipes import RECIPES
from supplierrisk.modeling.scoring import history_at, line_features
from supplierrisk.scenarios import Allocation, Models, ScenarioRequest, Shift, run_scenario
from supplierrisk.scenarios.allocation import allocate
from supplierrisk.scenarios.engine import monte_carlo_inputs, place_lines
from supplierrisk.scenarios.simulation import simulate
from supplierrisk.scenarios.template import demand_template, supplier_facts
from supplierrisk.synth import SynthConfig, generate_history

GOAL_SECONDS = 2.0
MIN_TEMPLATE_LINES = 5000


def quick_config(kind: str) -> TrainConfig:
    """The tests' quick training settings (the timing is of scoring and simulating, not of training)."""
    base = load_train_config(None, kind).model_dump()
    base["backtest"].update({"folds": 2})
    if kind == "otd":
        base["lightgbm"].update({"n_estimators": 80, "learning_rate": 0.1, "num_leaves": 7})
    return TrainConfig.model_validate(base)


def timed(function, repeats: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    """Median seconds over ``repeats`` calls, and the last result."""
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suppliers", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("lightgbm").setLevel(logging.ERROR)

    small = generate_history(SynthConfig(suppliers=300, years=2.0, seed=1)).history
    tolerances = Tolerances(0, 0.0)
    as_of_small = small["order_date"].max()
    trained = {
        k: RECIPES[k].train(small, as_of_small, quick_config(k), tolerances) for k in ("otd", "disruption")
    }
    models = Models(
        trained["otd"].model, trained["disruption"].model, {"otd": "bench", "disruption": "bench"}
    )
    history = generate_history(SynthConfig(suppliers=args.suppliers, years=1.5, seed=2)).history
    as_of = history["order_date"].max().normalize()
    start = time.perf_counter()
    at = history_at(history, as_of, models.otd.feature_config)
    index_seconds = time.perf_counter() - start
    recent = at.known.loc[at.known["order_date"] > as_of - pd.Timedelta(days=90)]
    category = recent["category"].value_counts().index[0]
    counts = recent.loc[recent["category"] == category, "supplier_id"].value_counts()
    shift = Shift(str(counts.index[0]), str(counts.index[1]), 0.3)
    request = ScenarioRequest(category, Allocation(shifts=(shift,)), runs=args.runs)

    template = demand_template(at.known, category, as_of, 90)
    facts = supplier_facts(at.known, as_of)
    placements = allocate(template, request.allocation, request.options, facts)
    placed = place_lines(template, placements.pairs, facts)
    features = line_features(models.otd, at.index_for(models.otd.feature_config), placed, as_of)
    inputs, _ = monte_carlo_inputs(placed, placements.pairs, models, at, 90, {})

    scenario_s, result = timed(lambda: run_scenario(request, at, models), args.repeats)
    simulate_s, _ = timed(lambda: simulate(inputs, args.runs, request.seed), args.repeats)
    booster = models.otd.classifier
    predict_s, _ = timed(lambda: booster.predict_proba(booster.encode(features)), args.repeats)
    print(
        f"history: {len(history):,} lines, {args.suppliers:,} suppliers; index built in {index_seconds:.2f} s"
    )
    print(
        f"category {category}: {len(template):,} template lines, {len(placements.pairs):,} placements,"
        f" {args.runs} runs"
    )
    print(f"  scenario end to end   {scenario_s * 1000:8.1f} ms")
    print(f"  monte carlo alone     {simulate_s * 1000:8.1f} ms")
    print(
        f"  reference: bare predict of the placed rows {predict_s * 1000:8.1f} ms"
        f" (scenario / reference {scenario_s / predict_s:.1f}x)"
    )
    summary = result.to_dict()  # type: ignore[attr-defined]
    print(
        f"  expected late lines: baseline {summary['baseline']['expected_late_lines']:.1f},"
        f" scenario {summary['scenario']['expected_late_lines']:.1f}"
    )
    enough = len(template) >= MIN_TEMPLATE_LINES
    verdict = "MET" if enough else "MISSED"
    print(f"target template_lines: {len(template)} (goal >= {MIN_TEMPLATE_LINES}) {verdict}")
    met = scenario_s <= GOAL_SECONDS and enough
    verdict = "MET" if met else "MISSED"
    print(f"target scenario_seconds_{args.runs}_runs: {scenario_s:.2f} (goal <= {GOAL_SECONDS}) {verdict}")


if __name__ == "__main__":
    main()
