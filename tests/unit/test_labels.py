import pandas as pd
import pytest

from supplierrisk.labels import DisruptionEvent, disruption_labels, late_labels, open_lines
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


def _supplier_lines(rows: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    """Lines of supplier S: (order, promised, delivered or None)."""
    return pd.DataFrame(
        {
            "supplier_id": "S",
            "order_date": pd.to_datetime([r[0] for r in rows]),
            "promised_date": pd.to_datetime([r[1] for r in rows]),
            "delivered_date": pd.to_datetime([r[2] for r in rows]),
        }
    )


def test_disruption_label_hand_computed() -> None:
    history = _supplier_lines(
        [
            ("2024-01-01", "2024-01-31", "2024-02-14"),  # promised on the as-of: outside (a, a + 90]
            ("2024-01-05", "2024-02-01", "2024-02-14"),  # 13 days late: not severe
            ("2024-01-05", "2024-03-01", "2024-03-15"),  # 14 days late: severe
            ("2024-01-05", "2024-04-30", None),  # still open, 90 days after a: in the horizon, severe
            ("2024-01-05", "2024-05-01", None),  # promised after the horizon
        ]
    )
    snaps = pd.DataFrame({"supplier_id": ["S", "S", "X"], "as_of": pd.to_datetime(["2024-01-31"] * 3)})
    labels = disruption_labels(history, snaps, DisruptionEvent())
    assert labels["lines_due"].tolist() == [3, 3, 0]
    assert labels["severe_lines_due"].tolist() == [2, 2, 0]
    assert labels["event"].tolist() == [True, True, False]
    # The last promise in the horizon (30 Apr) settles at the end of 13 May: the label is known from 14 May.
    assert labels["label_known_date"].iloc[0] == pd.Timestamp("2024-05-14")


def test_volume_aware_event_needs_a_severe_share() -> None:
    rows = [("2024-01-01", "2024-02-10", "2024-02-10")] * 9 + [("2024-01-01", "2024-02-10", "2024-03-10")]
    history = _supplier_lines(rows)
    snaps = pd.DataFrame({"supplier_id": ["S"], "as_of": pd.to_datetime(["2024-01-31"])})
    share = DisruptionEvent(kind="severe_share", min_severe_share=0.2)
    assert bool(disruption_labels(history, snaps, DisruptionEvent())["event"].iloc[0])
    # 1 severe of 10 due is 10 %: no disruption under the 20 % rule, one at 10 %.
    assert not bool(disruption_labels(history, snaps, share)["event"].iloc[0])
    ten = DisruptionEvent(kind="severe_share", min_severe_share=0.1)
    assert bool(disruption_labels(history, snaps, ten)["event"].iloc[0])


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "sometimes"), ("horizon_days", 0), ("severe_delay_days", 0), ("min_severe_share", 1.5)],
)
def test_bad_event_definitions_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field.split("_")[0]):
        DisruptionEvent(**{field: value})  # type: ignore[arg-type]
