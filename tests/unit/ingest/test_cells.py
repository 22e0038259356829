"""Cells of mixed kinds to text and numbers; control characters and undecodable bytes."""

import datetime as dt
import re

import numpy as np
import pandas as pd

from supplierrisk.ingest import to_canonical
from supplierrisk.ingest.cells import (
    CONTROL_CHARACTERS,
    UNDECODABLE_BYTES,
    cell_kinds,
    control_character_mask,
    parse_numbers,
    strip_cells,
    strip_control_characters,
    to_text,
    visible,
)
from supplierrisk.ingest.mapping import parse_mapping

MISSING = frozenset({"", "N/A"})


def test_kinds_of_a_mixed_column() -> None:
    kinds = cell_kinds(pd.Series(["a", 1.0, dt.date(2024, 1, 1), dt.time(0, 0), None, np.nan], dtype=object))
    assert kinds.text.tolist() == [True, False, False, False, False, False]
    assert kinds.number.tolist() == [False, True, False, False, False, False]
    assert kinds.date.tolist() == [False, False, True, False, False, False]
    assert kinds.time.tolist() == [False, False, False, True, False, False]


def test_text_of_numbers_reads_like_the_number() -> None:
    text = to_text(pd.Series([4500000101.0, 1.5, " P7 ", "N/A", dt.date(2024, 1, 2)], dtype=object), MISSING)
    assert text.tolist() == ["4500000101", "1.5", "P7", None, "2024-01-02"]


def test_numbers_from_number_cells_are_not_reparsed_with_the_decimal_mark() -> None:
    values, bad = parse_numbers(pd.Series([0.25, "1.000,5", "x"], dtype=object), MISSING, ",", ".")
    assert values.tolist()[:2] == [0.25, 1000.5]
    assert bad.tolist() == [False, False, True]


def test_control_characters_and_bad_bytes_are_found_shown_and_stripped() -> None:
    text = pd.Series(["SUP\x00", "Müller", "X\udcff", None], dtype=object)
    control, undecodable = control_character_mask(text)
    assert control.tolist() == [True, False, False, False]
    assert undecodable.tolist() == [False, False, True, False]
    assert visible("SUP\x00") == "SUP\\x00"
    assert visible("X\udcff") == "X\\xff"
    assert strip_control_characters(text).tolist() == ["SUP", "Müller", "X", None]


def test_the_whitespace_search_sees_exactly_what_strip_removes() -> None:
    # The skip is only safe if the regex's whitespace is str.isspace, over every code point.
    characters = [chr(c) for c in range(0x110000)]
    searched = [re.fullmatch(r"\s", ch) is not None for ch in characters]
    assert searched == [ch.isspace() for ch in characters]


def test_no_printable_character_is_a_control_character_or_an_undecodable_byte() -> None:
    # The clean-column skip in control_character_mask rests on this, over every code point.
    flagged = [
        chr(c) for c in range(0x110000) if CONTROL_CHARACTERS.match(chr(c)) or UNDECODABLE_BYTES.match(chr(c))
    ]
    assert len(flagged) == 30 + 128
    assert not any(ch.isprintable() for ch in flagged)


def test_cells_are_stripped_whatever_the_padding_and_left_alone_without_any() -> None:
    padded = ["P1", "\u00a0P2", "P3\t", "", "P 4", "P5\n", "\u3000"]
    assert strip_cells(pd.Series(padded)).tolist() == [v.strip() for v in padded]
    for one in [*padded[1:3], *padded[5:], " "]:
        for cells in (["A", one, "B"], [one, "B"], ["A", one], [one], ["", one, ""]):
            assert strip_cells(pd.Series(cells)).tolist() == [v.strip() for v in cells]
    plain = pd.Series(["A", "", "B C", "D\x00 E"])
    assert strip_cells(plain).tolist() == ["A", "", "B C", "D\x00 E"]


def test_number_marks_are_removed_only_where_present_in_any_cell() -> None:
    values, bad = parse_numbers(pd.Series(["1 000,5", "2,25", "3"], dtype=object), MISSING, ",", ".")
    assert values.tolist() == [1000.5, 2.25, 3.0]
    assert not bad.any()
    values, _ = parse_numbers(pd.Series(["1.5", "2"], dtype=object), MISSING, ".", ",")
    assert values.tolist() == [1.5, 2.0]


MAPPING = {
    "columns": {"po_id": "PO", "supplier_id": "Vendor", "order_date": "Ordered", "promised_date": "Due"}
}


def test_a_nul_in_a_key_rejects_the_row_naming_row_and_field() -> None:
    raw = pd.DataFrame(
        {
            "PO": ["P1", "P2"],
            "Vendor": ["SUP1", "SUP\x00\x01"],
            "Ordered": ["2024-01-01"] * 2,
            "Due": ["2024-01-09"] * 2,
        }
    )
    result = to_canonical(raw, parse_mapping(MAPPING, "m"), "export.csv")
    assert result.rows_accepted == 1
    reject = result.rejects.iloc[0]
    assert (reject["source_row"], reject["field"], reject["reason"]) == (
        2,
        "supplier_id",
        "control_characters",
    )
    assert "SUP\\x00\\x01" in reject["detail"]


def test_strip_mode_keeps_the_row_and_says_so() -> None:
    raw = pd.DataFrame(
        {"PO": ["P1"], "Vendor": ["SUP\x00"], "Ordered": ["2024-01-01"], "Due": ["2024-01-09"]}
    )
    result = to_canonical(raw, parse_mapping({**MAPPING, "control_characters": "strip"}, "m"), "export.csv")
    assert result.rows_rejected == 0
    assert result.accepted.loc[0, "supplier_id"] == "SUP"
    assert any("stripped from 1 cells" in note for note in result.notes)
