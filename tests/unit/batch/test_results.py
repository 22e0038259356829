"""The results database on both backends: round trips, atomic batches, migrations, one-line failures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.cli_support import EXIT_RESULTS_DB_UNAVAILABLE
from supplierrisk.batch import migrations, results


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    return str(request.getfixturevalue("postgres_url"))


def tables(scale: float = 1.0) -> dict[str, pd.DataFrame]:
    suppliers = pd.DataFrame(
        {
            "supplier_id": ["S1", "S2", None],
            "risk": [0.25 * scale, float("nan"), 0.5],
            "lines": [3, 0, 7],
            "single_source": [True, False, True],
            "as_of": pd.to_datetime(["2024-01-31", "2024-01-31", "2024-02-01"]),
        }
    )
    open_lines = pd.DataFrame({"po_id": ["P1", "P2"], "p_late": [0.1, 0.9]})
    return {"suppliers": suppliers, "open_lines": open_lines}


def manifest(as_of: str = "2024-01-31") -> dict[str, object]:
    return {"as_of": as_of, "finished_at": "2024-02-01T00:00:00+00:00", "rows_read": 10}


def test_a_batch_round_trips_with_its_types_and_missing_values(url: str) -> None:
    results.write_batch(url, "b1", tables(), manifest())
    results.set_latest(url, "b1")
    stored = results.read_table(url, "suppliers", "b1")
    expected = tables()["suppliers"]
    assert stored["supplier_id"].tolist()[:2] == ["S1", "S2"]
    assert stored["supplier_id"].isna().tolist() == [False, False, True]
    assert stored["risk"].tolist()[0] == 0.25
    assert pd.isna(stored["risk"].iloc[1])
    assert stored["lines"].tolist() == [3, 0, 7]
    assert stored["single_source"].astype(bool).tolist() == [True, False, True]
    assert pd.to_datetime(stored["as_of"]).tolist() == expected["as_of"].tolist()
    assert results.latest_batch_id(url) == "b1"


def test_sqlite_bulk_rows_are_stored_exactly_as_sqlalchemy_stores_them(tmp_path: Path) -> None:
    frame = tables()["suppliers"].assign(
        ordered_at=pd.to_datetime(
            ["2024-01-31 13:45:07.250001", None, "1999-12-31 00:00:00"], format="ISO8601"
        ),
        batch_id="b1",
    )
    ours = f"sqlite:///{tmp_path / 'ours.db'}"
    results.write_batch(ours, "b1", {"suppliers": frame.drop(columns="batch_id")}, manifest())
    # The reference: the same rows through pandas' default insert, SQLAlchemy's parameter processing.
    reference = sa.create_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    columns = ["batch_id", *tables()["suppliers"].columns, "ordered_at"]
    with reference.begin() as conn:
        frame[columns].to_sql(
            "batch_suppliers", conn, index=False, dtype={c: results._sql_type(frame[c]) for c in columns}
        )

    def stored(url: str | sa.Engine) -> list[tuple[object, ...]]:
        engine = url if isinstance(url, sa.Engine) else sa.create_engine(url)
        with engine.connect() as conn:
            query = sa.text(f"SELECT {', '.join(columns)} FROM batch_suppliers")  # noqa: S608 - test names
            rows = [tuple(row) for row in conn.execute(query)]
        engine.dispose()
        return rows

    expected = stored(reference)
    assert expected[0][-1] == "2024-01-31 13:45:07.250001"
    assert expected[1][-1] is None
    assert stored(ours) == expected


def test_an_empty_table_with_dates_is_stored_as_no_rows(url: str) -> None:
    # The day the data ends nothing is open: the open-line table is empty, its dates included.
    empty = tables()["suppliers"].iloc[:0]
    results.write_batch(url, "b1", {"suppliers": empty, "open_lines": tables()["open_lines"]}, manifest())
    assert results.read_table(url, "suppliers", "b1").empty
    assert len(results.read_table(url, "open_lines", "b1")) == 2


def test_sqlite_time_zone_aware_columns_round_trip_through_sqlalchemys_path(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'results.db'}"
    stamps = pd.to_datetime(["2024-01-31 13:45:07", "2024-02-01 00:00:00", None]).tz_localize("UTC")
    frame = tables()["suppliers"].assign(scored_at=stamps)
    results.write_batch(url, "b1", {"suppliers": frame}, manifest())
    stored = results.read_table(url, "suppliers", "b1")
    assert stored["scored_at"].notna().tolist() == [True, True, False]
    assert pd.to_datetime(stored["scored_at"]).dt.tz_localize(None).tolist()[:2] == [
        pd.Timestamp("2024-01-31 13:45:07"),
        pd.Timestamp("2024-02-01"),
    ]


def test_rewriting_a_batch_replaces_its_rows_and_keeps_the_others(url: str) -> None:
    results.write_batch(url, "b1", tables(), manifest())
    results.write_batch(url, "b2", tables(scale=2.0), manifest("2024-02-29"))
    results.write_batch(url, "b1", tables(scale=3.0), manifest())
    assert results.count_rows(url, "suppliers") == 6
    assert results.read_table(url, "suppliers", "b1")["risk"].iloc[0] == 0.75
    assert results.read_table(url, "suppliers", "b2")["risk"].iloc[0] == 0.5


def test_a_later_batch_may_add_a_column(url: str) -> None:
    results.write_batch(url, "b1", tables(), manifest())
    wider = tables()
    wider["open_lines"]["days_late_p90"] = [1.5, 20.0]
    results.write_batch(url, "b2", wider, manifest("2024-02-29"))
    assert results.read_table(url, "open_lines", "b2")["days_late_p90"].tolist() == [1.5, 20.0]
    assert results.read_table(url, "open_lines", "b1")["days_late_p90"].isna().all()


def _write_then_fail(url: str) -> None:
    with results.transaction(url, write=True) as conn:
        results._replace_rows(conn, "batch_suppliers", tables()["suppliers"].assign(batch_id="b2"), "b2")
        _ = 1 / 0


def test_a_failed_transaction_leaves_nothing_of_the_batch(url: str) -> None:
    results.write_batch(url, "b1", tables(), manifest())
    with pytest.raises(ZeroDivisionError):
        _write_then_fail(url)
    assert results.count_rows(url, "suppliers") == 3


def test_a_new_database_is_at_the_latest_version_and_upgrading_again_does_nothing(url: str) -> None:
    before, applied = results.upgrade_database(url)
    assert (before, [m.version for m in applied]) == (0, [1, 2])
    assert results.upgrade_database(url) == (migrations.LATEST_VERSION, [])
    engine = results.engine_for(url)
    names = set(sa.inspect(engine).get_table_names())
    assert {"schema_version", "batches", "batch_latest", "scenarios"} <= names


def _legacy_database(url: str) -> None:
    """What the first batch of an unversioned release left: tables made by ``to_sql``, no versions."""
    engine = results.engine_for(url)
    with engine.begin() as conn:
        frame = tables()["suppliers"].assign(batch_id="old")
        frame.to_sql("batch_suppliers", conn, index=False)
        summary = pd.DataFrame(
            {"batch_id": ["old"], "as_of": ["2023-12-31"], "finished_at": ["x"], "manifest": ["{}"]}
        )
        summary.to_sql("batches", conn, index=False)
        pd.DataFrame({"batch_id": ["old"]}).to_sql("batch_latest", conn, index=False)


def test_an_unversioned_database_is_adopted_in_place(url: str) -> None:
    _legacy_database(url)
    before, applied = results.upgrade_database(url)
    assert before == 0
    assert [m.version for m in applied] == [1, 2]
    assert results.latest_batch_id(url) == "old"
    assert len(results.read_table(url, "suppliers", "old")) == 3
    indexes = {i["name"] for i in sa.inspect(results.engine_for(url)).get_indexes("batch_suppliers")}
    assert "ix_batch_suppliers_batch_id" in indexes
    results.write_batch(url, "new", tables(), manifest())
    assert results.count_rows(url, "suppliers") == 6


def test_a_database_newer_than_the_code_is_refused_before_writing(url: str) -> None:
    results.upgrade_database(url)
    with results.engine_for(url).begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (99, 'future', 'x')"
            )
        )
    with pytest.raises(results.ResultsDatabaseError, match=r"schema version 99, newer .* knows \(2\)"):
        results.write_batch(url, "b1", tables(), manifest())
    assert not sa.inspect(results.engine_for(url)).has_table("batch_suppliers")


def test_an_unreachable_server_is_one_line_naming_it_without_the_password() -> None:
    url = "postgresql+psycopg://ops:s3cret@127.0.0.1:9/results?connect_timeout=2"
    with pytest.raises(results.ResultsDatabaseError) as caught:
        results.write_batch(url, "b1", tables(), manifest())
    message = str(caught.value)
    assert "\n" not in message
    assert "s3cret" not in message
    assert message.startswith("results database postgresql+psycopg://ops:***@127.0.0.1:9/results")


def test_db_upgrade_command_reports_the_version(
    url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SUPPLIERRISK_RESULTS_DB_URL", url)
    first = CliRunner().invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "applied 1: batches, batch_latest and scenarios tables" in first.output
    assert "schema version 2 (upgraded from 0)" in first.output
    again = CliRunner().invoke(app, ["db", "upgrade"])
    assert "schema version 2 (already current)" in again.output


def test_db_upgrade_on_a_dead_server_exits_with_its_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SUPPLIERRISK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(
        "SUPPLIERRISK_RESULTS_DB_URL", "postgresql://ops:pw@127.0.0.1:9/results?connect_timeout=2"
    )
    done = CliRunner().invoke(app, ["db", "upgrade"])
    assert done.exit_code == EXIT_RESULTS_DB_UNAVAILABLE
    assert done.output.count("\n") == 1
    assert "pw@" not in done.output


def test_a_dead_mlflow_database_is_one_tracking_error_even_for_the_first_client(tmp_path: Path) -> None:
    from supplierrisk.settings import Settings
    from supplierrisk.tracking import TrackingError, connect

    dead = "postgresql://ops:pw@127.0.0.1:9/mlflow?connect_timeout=2"
    with pytest.raises(
        TrackingError, match=r"^MLflow tracking URI postgresql\+psycopg://ops:\*\*\*@127\.0\.0\.1:9/mlflow"
    ):
        connect(Settings(home=tmp_path, mlflow_tracking_uri=dead))
