"""Figures logged with every run: the reliability diagram."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure


def reliability_figure(table: pd.DataFrame, title: str) -> Figure:
    """Observed share against mean predicted probability per bin, with bin counts."""
    # A bare Figure, not pyplot's: nothing global is kept (no figure manager, no backend to choose).
    fig = Figure(figsize=(5, 6))
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    used = table[table["count"] > 0]
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    top.plot(used["mean_predicted"], used["observed"], marker="o", label="model (out of time)")
    top.set_ylabel("observed share")
    top.set_title(title)
    top.legend(loc="upper left")
    bottom.bar((table["bin_low"] + table["bin_high"]) / 2, table["count"], width=0.09)
    bottom.set_xlabel("predicted probability")
    bottom.set_ylabel("lines")
    fig.tight_layout()
    return fig
