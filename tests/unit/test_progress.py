"""Progress: plain lines off a terminal, rich bars on one, nothing when quiet or when nobody reports."""

from __future__ import annotations

import io

import pytest

from supplierrisk import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_three_steps() -> None:
    with progress.task("backtest folds", total=3) as step:
        for k in range(3):
            step(detail=f"fold {k}")


def test_off_a_terminal_plain_lines_say_the_start_the_count_and_the_end() -> None:
    out = io.StringIO()
    with progress.reporting(stream=out, interval=0.0):
        run_three_steps()
    lines = out.getvalue().splitlines()
    assert lines[0] == "progress: backtest folds: started (0/3)"
    assert lines[1].startswith("progress: backtest folds: 1/3 (33%, ")
    assert "s left) fold 0" in lines[1]
    assert lines[-1].startswith("progress: backtest folds: done 3/3 in ")
    assert len(lines) == 5


def test_plain_lines_wait_their_interval() -> None:
    out = io.StringIO()
    reporter = progress.PlainReporter(out, interval=3600)
    reporter.begin("ingest", 3)
    for done in (1, 2, 3):
        reporter.advance("ingest", done, 3, "")
    reporter.end("ingest", 3, 3, stopped=False)
    assert [x.split(":")[2].strip() for x in out.getvalue().splitlines()] == [
        "started (0/3)",
        "done 3/3 in 0.0 s",
    ]


def test_on_a_terminal_a_bar_counts_the_steps() -> None:
    out = Terminal()
    with progress.reporting(stream=out) as reporter:
        assert isinstance(reporter, progress.RichReporter)
        run_three_steps()
        assert reporter.bars is None  # drawing stopped with the task: later output prints cleanly
        run_three_steps()  # and starts again for the next one
    assert "backtest folds" in out.getvalue()
    assert "3/3" in out.getvalue()


def test_quiet_shows_nothing_and_no_reporter_is_the_default() -> None:
    out = Terminal()
    with progress.reporting(quiet=True, stream=out):
        run_three_steps()
    run_three_steps()  # outside any reporting: silent, and no error
    assert out.getvalue() == ""


def fail_after_one_step() -> None:
    with progress.task("folds", 2) as step:
        step()
        raise ValueError("bad fold")


def test_a_task_left_by_an_error_still_ends() -> None:
    out = io.StringIO()
    with progress.reporting(stream=out), pytest.raises(ValueError, match="bad fold"):
        fail_after_one_step()
    assert out.getvalue().splitlines()[-1].startswith("progress: folds: stopped at 1/2 after ")
