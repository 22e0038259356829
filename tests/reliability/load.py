"""A steady stream of one-line scoring requests from its own process (the load of the fault suite).

``python -m tests.reliability.load URL KEY BODY OUT STOP --seconds N --connections C``:
each connection posts BODY in a loop until the file STOP appears or N seconds pass,
then every request's start time, latency, status and OTD version go to OUT as JSON.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

import httpx


def _versions(header: str) -> str:
    pairs = dict(part.split("=", 1) for part in header.split(", ") if "=" in part)
    return pairs.get("otd", "")


def _connection(
    index: int, url: str, key: str, body: bytes, stop: Path, deadline: float, out: list[dict[str, object]]
) -> None:
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        while time.monotonic() < deadline and not stop.exists():
            started = time.time()
            begun = time.perf_counter()
            try:
                response = client.post("/v1/order-lines/score", content=body)
                status, version = (
                    response.status_code,
                    _versions(response.headers.get("x-model-versions", "")),
                )
            except httpx.HTTPError as exc:
                status, version = 0, type(exc).__name__  # 0: no HTTP answer (connection reset, timeout)
            out.append(
                {
                    "c": index,
                    "t": started,
                    "ms": (time.perf_counter() - begun) * 1000,
                    "status": status,
                    "otd": version,
                }
            )


def main() -> None:
    """Run the connections and write what they saw."""
    parser = argparse.ArgumentParser()
    for name in ("url", "key", "body", "out", "stop"):
        parser.add_argument(name)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=2)
    args = parser.parse_args()
    body = Path(args.body).read_bytes()
    deadline = time.monotonic() + args.seconds
    seen: list[list[dict[str, object]]] = [[] for _ in range(args.connections)]
    threads = [
        threading.Thread(
            target=_connection, args=(i, args.url, args.key, body, Path(args.stop), deadline, seen[i])
        )
        for i in range(args.connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = sorted((r for part in seen for r in part), key=lambda r: float(r["t"]))
    Path(args.out).write_text(json.dumps(records), encoding="utf-8")


if __name__ == "__main__":
    main()
