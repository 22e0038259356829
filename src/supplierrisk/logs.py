"""Library warnings go to the run's log file (and the MLflow run), never between a command's output lines."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WARNINGS_LOGGER = "py.warnings"


def route_warnings_to(path: Path) -> None:
    """Send every Python warning to ``path`` (appended, created on first use) instead of stderr."""
    logging.captureWarnings(True)
    logger = logging.getLogger(WARNINGS_LOGGER)
    logger.propagate = False
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler):
            logger.removeHandler(handler)
            handler.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)


@contextmanager
def collected_warnings() -> Iterator[list[str]]:
    """Collect the warnings raised inside the block into a list (each also logged to the warnings log)."""
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("default")
        yield caught
    logger = logging.getLogger(WARNINGS_LOGGER)
    for record in records:
        text = f"{record.filename}:{record.lineno}: {record.category.__name__}: {record.message}"
        caught.append(text)
        logger.warning(text)


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (drivers add pages of detail), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the record's ``fields`` extra."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        import json

        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
