"""Drift alerts that mean something: false alarms on stable weeks, detection of real breaks.

Each case is a fresh data home: a history, both champions trained as of one day, then
one nightly batch a week (``supplierrisk score --as-of``, in process), each reading
the batches before it, exactly as a scheduler would run them. A batch "alerts" when
its ``drift.json`` has any alert (calibration or feature drift).

1. **SCMS, stable** (2014-01-06 .. 2014-09-29, champions as of 2013-12-31): share of
   batches with an alert (goal <= 10%).
2. **SCMS, break** (2014Q4: the late rate falls to 4.6%): batches from 2014-10-06 until
   the calibration alarm on all lines says "below" (goal <= 6).
3. **Synthetic, shock**: the drift switch on, and the late odds of Vietnam's suppliers x3
   for lines promised from a known day; batches from that day until an alert names
   ``supplier_country=Vietnam`` (goal <= 4).
4. **Synthetic, no shift**: the same weeks with every switch off: share of batches with
   an alert (goal <= 10%).

Evidently's pages are off (``SUPPLIERRISK_DRIFT_EVIDENTLY=false``): the verdicts are the
same test (``tests/unit/monitoring/test_thresholds.py`` checks Evidently agrees), the
pages only cost time. Run: ``.venv/bin/python bench/bench_drift.py`` (15-25 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from targets import target_line  # bench/targets.py, beside this script

from pipelines.ingest import run_ingest
from pipelines.score import run_score
from pipelines.train import run_train
from supplierrisk.ingest import get_preset
from supplierrisk.settings import Settings
from supplierrisk.storage import write_parquet
from supplierrisk.synth import SynthConfig, generate_history

SYNTH = {"suppliers": 400, "years": 3.0, "seed": 11, "lines_per_supplier_per_year": 80.0}
SHOCK_COUNTRY = "Vietnam"


def fresh_settings(home: Path) -> Settings:
    """Settings of a new data home (environment variables of the caller are respected)."""
    os.environ["SUPPLIERRISK_HOME"] = str(home)
    os.environ.setdefault("SUPPLIERRISK_DRIFT_EVIDENTLY", "false")
    return Settings()


def weekly(first: str, last: str) -> list[pd.Timestamp]:
    """Mondays from ``first`` to ``last``."""
    return list(pd.date_range(first, last, freq="7D"))


def run_batches(settings: Settings, trained: pd.Timestamp, days: list[pd.Timestamp]) -> list[dict[str, Any]]:
    """Train both models as of ``trained``, then one batch per day; each batch's alerts."""
    for kind in ("otd", "disruption"):
        run_train(settings, kind, trained, None)
    out = []
    for day in days:
        clock = time.perf_counter()
        report = run_score(settings, day)
        summary = json.loads((report.folder / "drift.json").read_text(encoding="utf-8"))
        alerts = summary.get("alerts", [])
        out.append(
            {"as_of": day.date().isoformat(), "alerts": alerts, "seconds": time.perf_counter() - clock}
        )
        first = alerts[0]["sentence"] if alerts else "-"
        print(f"  {day.date()}: {len(alerts)} alert(s) in {out[-1]['seconds']:.1f}s  {first}", flush=True)
    return out


def share_alerting(rows: list[dict[str, Any]]) -> float:
    """Share of batches with any alert."""
    return sum(bool(r["alerts"]) for r in rows) / len(rows)


def batches_until(rows: list[dict[str, Any]], found: Any) -> int | None:
    """1-based number of the first batch with an alert ``found`` accepts (None: never)."""
    for number, row in enumerate(rows, start=1):
        if any(found(a) for a in row["alerts"]):
            return number
    return None


def scms_case(root: Path) -> tuple[float, int | None]:
    """Stable 2014Q1-Q3 and the 2014Q4 break, one run of weekly batches."""
    settings = fresh_settings(root / "scms")
    preset = get_preset("scms")
    source = preset.bundled_path()
    assert source is not None  # noqa: S101 - the scms preset ships its data
    run_ingest(source, settings, preset="scms")
    print("SCMS: champions as of 2013-12-31, weekly batches 2014-01-06 .. 2014-11-17", flush=True)
    rows = run_batches(settings, pd.Timestamp("2013-12-31"), weekly("2014-01-06", "2014-11-17"))
    stable = [r for r in rows if r["as_of"] <= "2014-09-29"]
    after = [r for r in rows if r["as_of"] >= "2014-10-06"]

    def below_on_all_lines(alert: dict[str, Any]) -> bool:
        return (
            alert["kind"] == "calibration"
            and alert["segment"] == "all=all lines"
            and "below" in alert["sentence"]
        )

    calibration = sum(any(a["kind"] == "calibration" for a in r["alerts"]) for r in stable)
    feature = sum(any(a["kind"] == "feature" for a in r["alerts"]) for r in stable)
    print(
        f"SCMS stable weeks: {len(stable)} batches, {calibration} with a calibration alarm,"
        f" {feature} with a feature-drift alert",
        flush=True,
    )
    return share_alerting(stable), batches_until(after, below_on_all_lines)


def synth_case(root: Path, shocked: bool) -> tuple[float, int | None]:
    """Weekly batches over the last 20 weeks of a synthetic history, with or without the shift."""
    base = SynthConfig(**SYNTH)  # type: ignore[arg-type]
    onset = (base.export_date - pd.Timedelta(days=70)).normalize()
    onset -= pd.Timedelta(days=onset.dayofweek)  # a Monday
    config = SynthConfig(
        **SYNTH,  # type: ignore[arg-type]
        drift=shocked,
        drift_months=3,
        shock_country=SHOCK_COUNTRY if shocked else None,
        shock_from=onset.date().isoformat() if shocked else None,
    )
    settings = fresh_settings(root / ("synth_shock" if shocked else "synth_stable"))
    write_parquet(generate_history(config).history, settings.store_path)
    trained = onset - pd.Timedelta(days=70)
    days = weekly(
        (trained + pd.Timedelta(days=7)).date().isoformat(), (onset + pd.Timedelta(days=42)).isoformat()
    )
    label = "shock" if shocked else "no shift"
    print(
        f"synthetic, {label}: trained {trained.date()}, onset {onset.date()}, {len(days)} batches", flush=True
    )
    rows = run_batches(settings, trained, days)
    before = [r for r in rows if pd.Timestamp(r["as_of"]) <= onset]
    after = [r for r in rows if pd.Timestamp(r["as_of"]) > onset]

    def names_country(alert: dict[str, Any]) -> bool:
        return alert["segment"] == f"supplier_country={SHOCK_COUNTRY}"

    return share_alerting(rows if not shocked else before), batches_until(after, names_country)


def target(name: str, value: float | int | None, goal: str, met: bool) -> None:
    """One target line."""
    shown = "never" if value is None else (f"{value:.1%}" if isinstance(value, float) else str(value))
    print(target_line(name, shown, goal, met))


def main() -> None:
    """Run the cases and print the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Keep the data homes under this folder.")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-drift-"))
    clock = time.perf_counter()
    stable_share, break_batches = scms_case(root)
    shock_before, shock_batches = synth_case(root, shocked=True)
    no_shift_share, _ = synth_case(root, shocked=False)
    print(f"\nran in {time.perf_counter() - clock:.0f}s; homes under {root}")
    print(f"synthetic shock run: {shock_before:.1%} of the batches before the onset alerted")
    target("scms_stable_alert_share", stable_share, "<= 10%", stable_share <= 0.10)
    target(
        "scms_break_batches_to_alarm", break_batches, "<= 6", break_batches is not None and break_batches <= 6
    )
    target(
        "synth_shock_batches_to_named_alert",
        shock_batches,
        "<= 4",
        shock_batches is not None and shock_batches <= 4,
    )
    target("synth_no_shift_alert_share", no_shift_share, "<= 10%", no_shift_share <= 0.10)


if __name__ == "__main__":
    main()
