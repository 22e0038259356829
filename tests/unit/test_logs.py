import logging
import warnings
from pathlib import Path

import pytest

from supplierrisk.logs import WARNINGS_LOGGER, collected_warnings, route_warnings_to


def test_warnings_go_to_the_log_file_not_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "logs" / "supplierrisk.log"
    route_warnings_to(log)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("X does not have valid feature names", UserWarning, stacklevel=1)
    finally:
        logging.captureWarnings(False)
        for handler in logging.getLogger(WARNINGS_LOGGER).handlers:
            handler.flush()
    assert "X does not have valid feature names" in log.read_text(encoding="utf-8")
    assert "valid feature names" not in capsys.readouterr().err


def test_collected_warnings_lists_each_warning_of_the_block() -> None:
    with collected_warnings() as caught:
        warnings.warn("first", UserWarning, stacklevel=1)
        warnings.warn("second", RuntimeWarning, stacklevel=1)
    assert [line.split(": ", 1)[1] for line in caught] == ["UserWarning: first", "RuntimeWarning: second"]
