import pandas as pd
import pytest

from supplierrisk.labels import DisruptionEvent, disruption_labels, late_labels, open_lines
from supplierrisk.schema import conform

AS_OF = pd.Timestamp("2024-03-01")
ANY_SEVERE = DisruptionEvent(kind="any_severe")


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
    labels = disruption_labels(history, snaps, ANY_SEVERE)
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
    assert bool(disruption_labels(history, snaps, ANY_SEVERE)["event"].iloc[0])
    # 1 severe of 10 due is 10 %: no disruption under the 20 % rule, one at 10 %.
    assert not bool(disruption_labels(history, snaps, share)["event"].iloc[0])
    ten = DisruptionEvent(kind="severe_share", min_severe_share=0.1)
    assert bool(disruption_labels(history, snaps, ten)["event"].iloc[0])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "sometimes"),
        ("horizon_days", 0),
        ("severe_delay_days", 0),
        ("min_severe_share", 1.5),
        ("window_days", 0),
        ("min_judged_lines", 0),
        ("confidence", 0.5),
        ("margin", 1.0),
        ("prior_lines", -1.0),
    ],
)
def test_bad_event_definitions_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field.split("_")[0]):
        DisruptionEvent(**{field: value})  # type: ignore[arg-type]


def _steady(supplier: str, lines_per_month: int, late_every: int, months: int = 18) -> list[tuple]:
    """Lines spread evenly over ``months`` from 2023-01-01; every ``late_every``-th is 5 days late."""
    rows = []
    total = lines_per_month * months
    for i in range(total):
        promised = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(i * 30 * months / total))
        delivered = promised + pd.Timedelta(days=5 if i % late_every == 0 else 0)
        rows.append((supplier, promised - pd.Timedelta(days=20), promised, delivered))
    return rows


def _frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["supplier_id", "order_date", "promised_date", "delivered_date"])
    frame["po_id"] = [f"PO{i}" for i in range(len(frame))]
    return conform(frame)


def test_excursion_is_not_volume() -> None:
    # A quarter late, steadily, at 4 and at 400 lines a month: neither is disrupted at any as-of.
    history = _frame(_steady("SMALL", 4, 4) + _steady("BIG", 400, 4))
    as_ofs = pd.date_range("2024-01-01", "2024-03-01", freq="MS")
    snaps = pd.DataFrame([(s, a) for s in ("SMALL", "BIG") for a in as_ofs], columns=["supplier_id", "as_of"])
    labels = disruption_labels(history, snaps, DisruptionEvent(kind="excursion"))
    assert not labels["event"].any()
    assert labels["normal_late_share"].between(0.2, 0.3).all()
    # The volume-driven event fires for the big supplier (it has severe lines among many) only.
    severe = DisruptionEvent(kind="any_severe", severe_delay_days=5)
    fired = disruption_labels(history, snaps, severe).groupby(snaps["supplier_id"])["event"].mean()
    assert fired["BIG"] == 1.0


def test_a_block_well_above_the_own_normal_is_an_excursion() -> None:
    # Usually 1 in 10 late; then, from 2024-02-01, every line for 30 days (10 lines).
    rows = _steady("S", 10, 10, months=13)
    rows += [
        ("S", p - pd.Timedelta(days=20), p, p + pd.Timedelta(days=9))
        for p in pd.date_range("2024-02-02", periods=10, freq="3D")
    ]
    history = _frame(rows)
    snaps = pd.DataFrame({"supplier_id": ["S", "S"], "as_of": pd.to_datetime(["2024-01-31", "2023-10-01"])})
    labels = disruption_labels(history, snaps, DisruptionEvent(kind="excursion"))
    assert labels["event"].tolist() == [True, False]
    assert labels["worst_block_late_share"].iloc[0] == pytest.approx(1.0)
    assert labels["normal_late_share"].iloc[0] == pytest.approx(0.1, abs=0.02)
    # Known once the last promise of the horizon is past its tolerance: 90 + 0 + 1 days.
    assert labels["label_known_date"].iloc[0] == pd.Timestamp("2024-05-01")
    # Under way on 20 Feb (the 30 days before were as bad): still an excursion, but no new onset.
    snaps = pd.DataFrame({"supplier_id": ["S", "S"], "as_of": pd.to_datetime(["2024-01-31", "2024-02-20"])})
    excursion = disruption_labels(history, snaps, DisruptionEvent(kind="excursion"))["event"]
    onset = disruption_labels(history, snaps, DisruptionEvent(kind="onset"))["event"]
    assert excursion.tolist() == [True, True]
    assert onset.tolist() == [True, False]


def test_too_few_lines_cannot_be_judged() -> None:
    # Two lines due, both late, against a clean normal: below min_judged_lines (3), so no event.
    rows = _steady("S", 10, 1000, months=12)
    rows += [
        ("S", pd.Timestamp("2023-12-20"), pd.Timestamp(d), pd.Timestamp(d) + pd.Timedelta(days=30))
        for d in ("2024-01-10", "2024-01-20")
    ]
    snaps = pd.DataFrame({"supplier_id": ["S"], "as_of": pd.to_datetime(["2024-01-01"])})
    history = _frame(rows)
    assert not disruption_labels(history, snaps, DisruptionEvent(kind="excursion"))["event"].iloc[0]
    assert disruption_labels(history, snaps, DisruptionEvent(kind="excursion", min_judged_lines=2))[
        "event"
    ].iloc[0]


def test_a_new_supplier_is_judged_against_everyone() -> None:
    # No history of its own: its normal is all suppliers' late share (a quarter), not zero.
    rows = _steady("OLD", 20, 4, months=12)
    rows += [("NEW", pd.Timestamp("2023-12-20"), pd.Timestamp("2024-01-10"), pd.Timestamp("2024-01-10"))]
    snaps = pd.DataFrame({"supplier_id": ["NEW"], "as_of": pd.to_datetime(["2024-01-01"])})
    labels = disruption_labels(_frame(rows), snaps, DisruptionEvent(kind="excursion"))
    assert labels["normal_late_share"].iloc[0] == pytest.approx(0.25, abs=0.02)
