"""What every ``supplierrisk`` command shares: exit codes, one-line errors, strict dates, side notes."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import pandas as pd
import typer

from supplierrisk.ingest import IngestError
from supplierrisk.storage import LockedError, StoreEmptyError
from supplierrisk.tracking import TrackingError

P = ParamSpec("P")
R = TypeVar("R")
# Exit codes (documented in the README for schedulers): 0 done, then one code per kind of failure.
EXIT_USER_ERROR = 2
EXIT_NO_CHAMPION = 3
EXIT_EMPTY_STORE = 4
EXIT_AS_OF_OUTSIDE_DATA = 5
EXIT_LOCKED = 6
EXIT_REGISTRY_UNREACHABLE = 7
EXIT_INGEST_REFUSED = 8
EXIT_RETRAIN_FAILED = 9
EXIT_RESULTS_DB_UNAVAILABLE = 10
EXIT_CANNOT_WRITE = 11


def exit_codes() -> list[tuple[type[BaseException], int]]:
    """Known failures and their exit codes, most specific first (the README's table)."""
    from supplierrisk.batch.results import ResultsDatabaseError
    from supplierrisk.features import AsOfOutsideDataError
    from supplierrisk.tracking import MissingChampionError

    return [
        (MissingChampionError, EXIT_NO_CHAMPION),
        (StoreEmptyError, EXIT_EMPTY_STORE),
        (AsOfOutsideDataError, EXIT_AS_OF_OUTSIDE_DATA),
        (LockedError, EXIT_LOCKED),
        (TrackingError, EXIT_REGISTRY_UNREACHABLE),
        (ResultsDatabaseError, EXIT_RESULTS_DB_UNAVAILABLE),
        (IngestError, EXIT_USER_ERROR),
        (ValueError, EXIT_USER_ERROR),
        (FileNotFoundError, EXIT_USER_ERROR),
        # Disk full, read-only or no permission: what was published before stays (writes are atomic).
        (OSError, EXIT_CANNOT_WRITE),
    ]


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn known failures into a one-line message and their exit code, without a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            code = next((c for error, c in exit_codes() if isinstance(exc, error)), None)
            if code is None:
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code) from None

    return wrapper


ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def as_of_day(value: str | None, option: str = "--as-of") -> pd.Timestamp | None:
    """A strict ISO day (YYYY-MM-DD); None stays None (the command then uses the store's last day)."""
    if value is None:
        return None
    if not ISO_DAY.fullmatch(value.strip()):
        raise ValueError(f"{option} {value!r} is not a date in YYYY-MM-DD form (for example 2020-08-28)")
    try:
        return pd.Timestamp(value.strip()).normalize()
    except ValueError:
        raise ValueError(f"{option} {value!r} is not a real calendar day") from None


def note(text: str) -> None:
    """A side note (the as-of in force) on stderr, so stdout stays clean for CSV and JSON."""
    typer.echo(text, err=True)
