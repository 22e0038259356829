"""Workspace cells and links: values, intervals, insufficient data, escaping, ids with odd characters."""

from __future__ import annotations

import numpy as np
import pandas as pd
from starlette.requests import Request

from serving.ui import cell, with_query
from supplierrisk.service.workspace import Column


def request(raw_path: bytes, query: bytes = b"") -> Request:
    path = raw_path.decode()
    from urllib.parse import unquote

    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": unquote(path),
            "raw_path": raw_path,
            "query_string": query,
            "headers": [],
        }
    )


def test_links_keep_an_id_with_percent_signs_and_slashes_encoded() -> None:
    # The supplier "A%20B/C" arrives as /ui/suppliers/A%2520B%2FC; its sort link must keep that encoding.
    page = request(b"/ui/suppliers/A%2520B%2FC", b"sort=p_late")
    assert with_query(page, order="asc") == "/ui/suppliers/A%2520B%2FC?sort=p_late&order=asc"
    assert with_query(page, sort=None) == "/ui/suppliers/A%2520B%2FC"


def test_cells_show_values_intervals_and_insufficient_data() -> None:
    row = pd.Series(
        {
            "otd_rate": 0.9,
            "otd_rate_lo": 0.8,
            "otd_rate_hi": 0.95,
            "otd_lines": 12,
            "fill_rate": np.nan,
            "fill_lines": 0,
        }
    )
    assert str(cell(Column("otd_rate", "OTD", "interval", count="otd_lines"), row)) == "90.0% [80.0%–95.0%]"
    empty = str(cell(Column("fill_rate", "Fill", "interval", count="fill_lines"), row))
    assert empty == '<span class="insufficient">insufficient data (0 lines)</span>'
    assert str(cell(Column("n", "N", "number"), pd.Series({"n": 1234.0}))) == "1,234"
    assert str(cell(Column("hhi", "HHI", "index"), pd.Series({"hhi": 1583.2}))) == "1,583"
    assert str(cell(Column("x", "X", "metric"), pd.Series({"x": 0.123456}))) == "0.1235"


def test_cells_escape_text_and_quote_link_ids() -> None:
    row = pd.Series({"supplier_id": "<b>A/B & C</b>"})
    link = str(cell(Column("supplier_id", "Supplier", "link", link="/ui/suppliers/{supplier_id}"), row))
    assert (
        link == '<a href="/ui/suppliers/%3Cb%3EA%2FB%20%26%20C%3C%2Fb%3E">&lt;b&gt;A/B &amp; C&lt;/b&gt;</a>'
    )
    band = str(cell(Column("risk_band", "Band", "band"), pd.Series({"risk_band": '"><script>'})))
    assert "<script>" not in band
