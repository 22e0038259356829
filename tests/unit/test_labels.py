import pandas as pd
import pytest

from supplierrisk.labels import late_labels, open_lines
from supplierrisk.schema import conform

AS_OF = pd.Timestamp("2024-03-01")


@pytest.fixture
def lines() -> pd.DataFrame:
    rows = [
        # name, order, promised, delivered
        ("early", "2024-01-01", "2024-02-01", "2024-01-25"),
        ("same_day", "2024-01-01", "2024-02-01", "2024-02-01"),
        ("late", "2024-01-01", "2024-02-01", "2024-02-11"),
        ("open_overdue", "2024-01-01", "2024-02-01", None),
        ("open_not_due", "2024-02-01", "2024-03-10", None),
        ("due_today_open", "2024-02-01", "2024-03-01", None),
        ("delivered_after_as_of", "2024-01-01", "2024-02-01", "2024-03-05"),
        ("ordered_after_as_of", "2024-03-02", "2024-03-20", "2024-03-19"),
    ]
    frame = pd.DataFrame(rows, columns=["po_id", "order_date", "promised_date", "delivered_date"])
    frame["supplier_id"] = "S"
    return conform(frame).set_index("po_id", drop=False)


def test_censoring_rules(lines: pd.DataFrame) -> None:
    labels = late_labels(lines, AS_OF, tolerance_days=0)
    known = labels["label_known"]
    assert known.to_dict() == {
        "early": True,
        "same_day": True,
        "late": True,
        "open_overdue": True,
        "open_not_due": False,
        "due_today_open": False,
        "delivered_after_as_of": True,
        "ordered_after_as_of": False,
    }
    late = labels.loc[known, "late"]
    assert late.to_dict() == {
        "early": False,
        "same_day": False,
        "late": True,
        "open_overdue": True,
        "delivered_after_as_of": True,
    }
    delay = labels["delay_days"]
    assert delay["early"] == 0
    assert delay["late"] == 10
    assert pd.isna(delay["open_overdue"])  # censored: not delivered by as-of
    assert pd.isna(delay["delivered_after_as_of"])


def test_tolerance_moves_the_boundary(lines: pd.DataFrame) -> None:
    labels = late_labels(lines, AS_OF, tolerance_days=10)
    assert not labels.loc["late", "late"]
    assert labels.loc["late", "delay_days"] == 0


def test_open_lines_are_the_unknown_ones(lines: pd.DataFrame) -> None:
    mask = open_lines(lines, AS_OF, tolerance_days=0)
    assert sorted(lines.index[mask]) == ["due_today_open", "open_not_due"]
