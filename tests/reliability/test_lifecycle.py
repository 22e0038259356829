"""Model lifecycle under load: a new champion swaps in without a failed request; a broken one never does."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from supplierrisk.tracking import CHAMPION, MODEL_NAMES, connect, promote, version_for_alias
from tests.reliability.conftest import Load, Record, non_2xx, p99, report, serving, wait_for
from tests.stack import Stack, copy_home, line, new_otd_version


def _switches(records: list[Record], order: list[str]) -> int:
    """Version switches in one connection's sequence; fails on a switch back or out of order."""
    seen = [str(r["otd"]) for r in records]
    ranks = [order.index(v) for v in seen]
    assert ranks == sorted(ranks), f"a version flipped back: {seen}"
    return sum(1 for a, b in zip(ranks, ranks[1:], strict=False) if a != b)


def _serving_version(url: str, version: str) -> bool:
    return str(httpx.get(f"{url}/ready", timeout=10).json()["models"].get("otd")) == version


def test_a_new_champion_swaps_in_under_load_by_poll_and_by_reload(tmp_path: Path, stack: Stack) -> None:
    """Guarantee: 0 non-2xx; one version per answer, v1 -> v2 -> v3 per connection; p99 within 3x."""
    settings = copy_home(stack, tmp_path / "home")
    first = str(version_for_alias(connect(settings), MODEL_NAMES["otd"], CHAMPION).version)
    second, third = new_otd_version(settings), new_otd_version(settings)
    with serving(settings, tmp_path / "serve.log", poll_seconds=1.0) as server:
        load = Load(server.url, stack.viewer, {"lines": [line(stack)]}, tmp_path / "load")
        time.sleep(5)
        swaps = [time.time()]
        promote(connect(settings), MODEL_NAMES["otd"], second, "reliability: by poll")
        wait_for(lambda: _serving_version(server.url, second), 60, f"the poller to load v{second}")
        swaps.append(time.time())
        time.sleep(3)
        swaps.append(time.time())
        promote(connect(settings), MODEL_NAMES["otd"], third, "reliability: by reload")
        reloaded = httpx.post(f"{server.url}/v1/admin/reload", headers=stack.headers("admin"), timeout=120)
        swaps.append(time.time())
        time.sleep(3)
        records = load.stop()
    assert reloaded.status_code == 200, reloaded.text
    before = [r for r in records if float(r["t"]) < swaps[0]]
    during = [
        r for r in records if swaps[0] <= float(r["t"]) <= swaps[1] or swaps[2] <= float(r["t"]) <= swaps[3]
    ]
    failed = non_2xx(records)
    order = [first, second, third]
    assert {str(r["otd"]) for r in records} == set(order)
    by_connection: dict[int, list[Record]] = {}
    for record in records:
        by_connection.setdefault(int(record["c"]), []).append(record)
    switches = [_switches(seq, order) for seq in by_connection.values()]
    figures = {
        "requests": len(records),
        "non_2xx": failed,
        "version_switches_per_connection": switches,
        "p99_before_ms": round(p99(before), 1),
        "p99_during_ms": round(p99(during), 1),
    }
    report("hot swap under load (poll, then admin reload)", **figures)
    assert failed == 0
    assert switches == [2] * len(by_connection)
    assert figures["p99_during_ms"] <= 3 * figures["p99_before_ms"]


def _broken_version(settings: object, champion_source: str, tmp_path: Path, kind: str) -> str:
    client = connect(settings)
    current = version_for_alias(client, MODEL_NAMES["otd"], CHAMPION)
    assert current is not None
    target = tmp_path / f"broken-{kind}"
    if kind == "missing":
        source = (target / "nowhere").as_uri()
    else:
        from mlflow.artifacts import download_artifacts

        local = Path(download_artifacts(artifact_uri=champion_source, dst_path=str(target)))
        for pickled in local.rglob("*.pkl"):
            pickled.write_bytes(b"not a pickle")
        source = local.as_uri()
    made = client.create_model_version(MODEL_NAMES["otd"], source, run_id=current.run_id)
    return str(made.version)


def test_a_broken_champion_is_refused_and_the_previous_one_keeps_serving(
    tmp_path: Path, stack: Stack
) -> None:
    """Guarantee: 0 non-2xx, all from the previous version; /ready degraded, saying why; failures counted."""
    settings = copy_home(stack, tmp_path / "home")
    client = connect(settings)
    champion = version_for_alias(client, MODEL_NAMES["otd"], CHAMPION)
    assert champion is not None
    with serving(settings, tmp_path / "serve.log", poll_seconds=0) as server:
        load = Load(server.url, stack.viewer, {"lines": [line(stack)]}, tmp_path / "load")
        time.sleep(2)
        answers, reasons = [], []
        for kind in ("missing", "corrupt"):
            version = _broken_version(settings, str(champion.source), tmp_path, kind)
            promote(client, MODEL_NAMES["otd"], version, f"reliability: a {kind} artifact")
            answers.append(
                httpx.post(f"{server.url}/v1/admin/reload", headers=stack.headers("admin"), timeout=120)
            )
            reasons.append(server.ready())
        metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
        time.sleep(1)
        records = load.stop()
    failed = non_2xx(records)
    served = sorted({str(r["otd"]) for r in records})
    report(
        "broken champion promoted under load", requests=len(records), non_2xx=failed, versions_served=served
    )
    assert [a.status_code for a in answers] == [503, 503]
    assert failed == 0
    assert served == [str(champion.version)]
    for ready in reasons:
        assert ready["status"] == "degraded"
        assert ready["models"]["otd"] == str(champion.version)
        assert any("the last reload failed" in p for p in ready["problems"])
    assert 'supplierrisk_reloads_total{outcome="failed"} 2.0' in metrics
    assert "supplierrisk_reload_failing 1.0" in metrics
