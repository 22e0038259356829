"""Date cells of every kind, Excel's zero date, and the day/month-swap findings."""

import datetime as dt

import pandas as pd
import pytest

from supplierrisk.ingest.dates import format_finding, parse_dates, swap_day_month

MISSING = frozenset({"", "N/A"})


def parse(values: list[object], formats: list[str], excel: bool = False):
    return parse_dates(pd.Series(values, dtype=object), formats, MISSING, "order_date", excel)


def test_swap_day_month() -> None:
    assert swap_day_month("%d/%m/%Y") == "%m/%d/%Y"
    assert swap_day_month("%m.%d.%y") == "%d.%m.%y"
    assert swap_day_month("%d-%b-%y") is None
    assert swap_day_month("ISO8601") is None


def test_cells_of_each_kind() -> None:
    values = [dt.datetime(2024, 1, 3, 13, 45), "05.02.2024", 45292, 0, dt.time(0, 0), "00.00.0000", None, "x"]
    result = parse(values, ["%d.%m.%Y"], excel=True)
    got = result.values.tolist()
    assert got[:3] == [pd.Timestamp("2024-01-03"), pd.Timestamp("2024-02-05"), pd.Timestamp("2024-01-01")]
    # Serial 0, a time-only cell and the text zero date are missing values, never 1899-12-30.
    assert all(pd.isna(v) for v in got[3:7])
    assert list(result.bad) == [7]
    assert result.detail.iloc[7] == "'x' does not match %d.%m.%Y"


def test_numbers_are_text_outside_excel() -> None:
    result = parse([20240102, "20240105"], ["%Y%m%d"])
    assert result.values.tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-05")]


def test_zero_date_timestamp_is_missing() -> None:
    result = parse([pd.Timestamp("1899-12-30"), pd.Timestamp("2024-01-02")], ["%d.%m.%Y"])
    assert pd.isna(result.values.iloc[0])
    assert len(result.bad) == 0


def us_dates(n: int) -> list[str]:
    days = pd.date_range("2023-01-01", periods=n, freq="3D")
    return [d.strftime("%m/%d/%Y") for d in days]


def test_month_first_dates_read_day_first_are_found() -> None:
    result = parse(us_dates(200), ["%d/%m/%Y"])
    finding = result.finding
    assert finding is not None
    assert (finding.field, finding.given, finding.likely, finding.kind) == (
        "order_date",
        "%d/%m/%Y",
        "%m/%d/%Y",
        "swapped_parses",
    )
    assert finding.share == pytest.approx(len(result.bad) / 200)
    assert "set date_formats.order_date: '%m/%d/%Y'" in finding.message()


def test_only_small_days_parsed_is_found_too() -> None:
    # Every value has both parts <= 12, so nothing fails, yet twelve distinct "days" all <= 12 give it away.
    values = [f"{m:02d}/{d:02d}/2024" for m in range(1, 13) for d in (1, 5, 9)]
    finding = parse(values, ["%d/%m/%Y"]).finding
    assert finding is not None
    assert finding.kind == "days_at_most_12"
    assert "all 36 parsed order_date values have a day of 12 or less" in finding.message()


@pytest.mark.parametrize(
    "values",
    [
        [f"01.{m:02d}.2024" for m in range(1, 13)] * 3,  # a monthly order on the 1st: not distinct days
        [d.strftime("%d/%m/%Y") for d in pd.date_range("2023-01-01", periods=200, freq="3D")],  # right format
        ["12/01/2024"] * 5,  # too few values to tell
    ],
)
def test_no_finding_without_evidence(values: list[str]) -> None:
    fmt = "%d.%m.%Y" if "." in values[0] else "%d/%m/%Y"
    assert parse(values, [fmt]).finding is None


def test_format_finding_needs_a_swappable_format() -> None:
    text = pd.Series(["2-Jun-06"])
    parsed = pd.Series([pd.Timestamp("2006-06-02")])
    assert format_finding(text, parsed, pd.Series([False]), ["%d-%b-%y"], "promised_date") is None
