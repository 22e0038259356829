"""A small random canonical history for feature tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from supplierrisk.schema import conform


def random_history(seed: int, n: int = 400, suppliers: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    order = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
    lead = rng.integers(0, 40, n)
    promised = order + pd.to_timedelta(lead, unit="D")
    offset = rng.choice([-3, -1, 0, 0, 0, 1, 2, 5, 15, 30], n)
    delivered = promised + pd.to_timedelta(offset, unit="D")
    delivered = delivered.where(delivered >= order, order)
    export = pd.Timestamp("2024-05-01")
    delivered = delivered.where(delivered <= export, pd.NaT)
    frame = pd.DataFrame(
        {
            "po_id": [f"P{i:05d}" for i in range(n)],
            "line_id": "1",
            "supplier_id": rng.choice([f"S{i}" for i in range(suppliers)], n),
            "supplier_country": rng.choice(["DE", "IN", "US"], n),
            "category": rng.choice(["bolts", "chips", "paint"], n),
            "order_date": order,
            "promised_date": promised,
            "delivered_date": delivered,
            "quantity_ordered": rng.integers(1, 100, n).astype(float),
            "unit_price": rng.uniform(1, 50, n),
            "ship_mode": rng.choice(["Air", "Ocean", "Truck"], n),
            "incoterm": rng.choice(["EXW", "DDP"], n),
            "destination": rng.choice(["Berlin", "Pune"], n),
            "extra_priority": rng.choice(["normal", "urgent"], n),
        }
    )
    received = frame["quantity_ordered"] * rng.choice([1.0, 1.0, 0.8], n)
    frame["quantity_received"] = received.where(frame["delivered_date"].notna())
    return conform(frame)


@pytest.fixture
def history() -> pd.DataFrame:
    return random_history(0)
